"""The dashboard in a real headless Chromium (Debian's package, driven by Playwright).

`.ci/run` installs chromium and sets REQUIRE_BROWSER=1, so in CI a missing browser fails the run;
on a developer machine without it the test is skipped with the reason shown."""

import os
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections
from django.utils import timezone

from tests.factories import DEFAULT_PASSWORD, TherapistFactory, UserFactory
from tests.sharing.factories import RegulationLogFactory, ShareGrantFactory, history_for
from tracker.models import AccessLogEntry

CHROMIUM = os.getenv("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(settings.BASE_DIR) / "artifacts"

# available_apps makes the flush after this transactional test TRUNCATE ... CASCADE: knox's own
# migrations create an (unused, swapped-out) knox_authtoken table with a foreign key to the user table,
# which a plain TRUNCATE on PostgreSQL refuses.
pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True, available_apps=list(settings.INSTALLED_APPS)),
]


@pytest.fixture
def chromium_browser(monkeypatch):
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        if os.getenv("REQUIRE_BROWSER") == "1":
            pytest.fail(f"Chromium is required (REQUIRE_BROWSER=1) but {CHROMIUM} is missing")
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    # Playwright's sync API runs an event loop in this thread; Django's ORM would refuse to be
    # called from it (the test's own ORM calls happen between Playwright calls, never inside one).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    # The live server answers in its own threads; persistent connections there would outlive the
    # test and keep PostgreSQL from dropping the test database. Close them after every request.
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
            # ORM calls made while Playwright's greenlets run get their own connection (contexts
            # differ); close it, or PostgreSQL cannot drop the test database at the end.
            connections.close_all()


def test_therapist_logs_in_opens_a_client_and_sees_charts_and_digest(live_server, chromium_browser):
    client = UserFactory(display_name="Casey Client", timezone="Europe/Berlin")
    therapist = TherapistFactory(email="theo@example.test", display_name="Theo Therapist")
    ShareGrantFactory(client=client, therapist=therapist, accepted_at=timezone.now() - timedelta(weeks=10))
    for i in range(4):  # other clients, so the list has some rows
        other = UserFactory(display_name=f"Client {i + 1}")
        ShareGrantFactory(client=other, therapist=therapist)
        history_for(other, weeks=3 + i)
    history_for(client, weeks=9)
    RegulationLogFactory(user=client, occurred_at=timezone.now() - timedelta(days=1), safety_flag=True)

    page = chromium_browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/dashboard/")
    assert "/dashboard/login/" in page.url  # not logged in: sent to the login page

    page.fill("input[name=username]", therapist.email)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/dashboard/")
    assert page.locator("table.clients tbody tr").count() == 5

    page.click("text=Casey Client")
    page.wait_for_selector("svg.chart-trajectory")

    # The trajectory: four quadrants, one point per week, a path through them.
    trajectory = page.locator("svg.chart-trajectory")
    assert trajectory.locator("rect.quadrant").count() == 4
    assert trajectory.locator("circle.week").count() == 9
    assert len(trajectory.locator("path.trajectory").get_attribute("d")) > 20
    box = trajectory.bounding_box()
    assert box and box["width"] > 200 and box["height"] > 200
    # Weekly series: means as markers and EWMA lines for both dimensions.
    weekly = page.locator("svg.chart-weekly")
    assert weekly.locator("circle.mean-anxiety").count() == 9
    assert weekly.locator("rect.mean-avoidance").count() == 9
    for key in ("anxiety", "avoidance"):
        assert weekly.locator(f"path.ewma-{key}").get_attribute("d").count("L") == 8
    # Regulation: one bar per strategy with >= 3 episodes.
    bars = page.locator("svg.chart-strategies rect.bar")
    assert bars.count() == 3
    assert all(bars.nth(i).bounding_box()["width"] > 0 for i in range(3))
    assert page.locator("svg title").first.text_content()

    digest = page.locator("#digest")
    text = digest.inner_text().lower()  # the CSS upper-cases the labels
    assert "since sharing began" in text
    assert "safety flags\n⚑ 1" in text
    assert "support seeking" in text
    assert int(page.locator("[data-testid=digest-new-checkins]").inner_text()) == 18

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

    # Tablet portrait: the page reflows instead of scrolling sideways.
    page.set_viewport_size({"width": 820, "height": 1180})
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.screenshot(path=str(ARTIFACTS / "dashboard-tablet.png"), full_page=True)

    # Marking a session resets the digest.
    page.click("text=Mark a session now")
    page.wait_for_selector(".messages")
    assert int(page.locator("[data-testid=digest-new-checkins]").inner_text()) == 0

    resources = set(AccessLogEntry.objects.filter(client=client).values_list("resource", "channel"))
    assert resources == {("client_list", "web"), ("client_page", "web")}
