"""The dashboard in a real headless Chromium (Debian's package, driven by Playwright).

`.ci/run` installs chromium and sets REQUIRE_BROWSER=1, so in CI a missing browser fails the run;
on a developer machine without it the test is skipped with the reason shown. The same goes for
axe-core (`npm ci --prefix .ci/node`, which .ci/run does before the tests): every dashboard page the
tests open is checked with it for WCAG 2.0/2.1/2.2 A and AA violations."""

import os
import re
import shutil
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.db import connections
from django.utils import timezone

from tests.alerts.helpers import checkin_at, tick_at
from tests.factories import DEFAULT_PASSWORD, ClinicAdminFactory, TherapistFactory, UserFactory
from tests.helpers import allow_code_reuse, totp_code
from tests.sharing.factories import RegulationLogFactory, ShareGrantFactory, WeeklySummaryFactory, history_for
from tracker.models import AccessLogEntry, Alert, ClinicMembership

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
SCREENSHOT = Path(settings.BASE_DIR) / "artifacts" / "dashboard.png"  # a CI artifact; docs/ keeps a copy
# axe-core from npm (pinned in .ci/node/package-lock.json), injected into each page by Playwright.
AXE = Path(settings.BASE_DIR) / ".ci" / "node" / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

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
    if not AXE.exists():
        if os.getenv("REQUIRE_BROWSER") == "1":
            pytest.fail(f"axe-core is required (REQUIRE_BROWSER=1) but {AXE} is missing: npm ci --prefix .ci/node")
        pytest.skip(f"no axe-core at {AXE} (npm ci --prefix .ci/node)")
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


def authenticator_code(secret: str) -> str:
    """The current code of an authenticator app holding `secret` (RFC 6238, django-otp's code)."""
    import time
    from base64 import b32decode

    from django_otp.oath import TOTP

    totp = TOTP(b32decode(secret), step=30, t0=0, digits=6)
    totp.time = time.time()
    return f"{totp.token():06d}"


def assert_accessible(page, checked: list[str]) -> None:
    """Run axe-core on the page as it is now: zero WCAG 2.x A/AA violations, and rules that did run
    (a page axe could not read would pass vacuously)."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """async (tags) => {
            const r = await axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
            return {
                passes: r.passes.length,
                violations: r.violations.map(v => ({
                    id: v.id, impact: v.impact, help: v.help,
                    nodes: v.nodes.slice(0, 3).map(n => n.target.join(" ") + " :: " + n.failureSummary),
                })),
            };
        }""",
        WCAG_TAGS,
    )
    path = urlsplit(page.url).path.removeprefix("/dashboard")
    assert result["violations"] == [], f"axe on /dashboard{path}: {result['violations']}"
    assert result["passes"] > 5, f"axe ran almost no rules on /dashboard{path}"
    checked.append(path)


def tab_until(page, matches: str, limit: int = 80) -> None:
    """Press Tab until the focused element satisfies the JS predicate `matches` (given the element);
    each press must move the focus (nothing traps it)."""
    previous = None
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate("() => document.activeElement && document.activeElement.outerHTML")
        assert focused != previous, "Tab did not move the focus"
        previous = focused
        if page.evaluate(f"() => ({matches})(document.activeElement)"):
            return
    raise AssertionError(f"Tab never reached an element matching {matches}")


def test_therapist_logs_in_opens_a_client_and_sees_charts_and_digest(live_server, chromium_browser):
    client = UserFactory(display_name="Casey Client", timezone="Europe/Berlin")
    therapist = TherapistFactory(email="theo@example.test", display_name="Theo Therapist", mfa=False)
    ShareGrantFactory(client=client, therapist=therapist, accepted_at=timezone.now() - timedelta(weeks=10))
    for i in range(4):  # other clients, so the list has some rows
        other = UserFactory(display_name=f"Client {i + 1}")
        ShareGrantFactory(client=other, therapist=therapist)
        history_for(other, weeks=3 + i)
    history_for(client, weeks=9)
    RegulationLogFactory(user=client, occurred_at=timezone.now() - timedelta(days=1), safety_flag=True)
    summary = WeeklySummaryFactory(
        user=client,
        payload={"schema": 3, "checkins": 2, "anxiety": 3.6, "avoidance": 3.5, "quadrant": "secure", "tendency": None},
    )
    tick_at(timezone.now())  # the scheduler's evaluation: the safety flag above fires an alert
    (alert,) = Alert.objects.filter(client=client)
    checked: list[str] = []

    # bypass_csp: the dashboard's CSP (script-src 'self') would refuse the injected axe-core script.
    page = chromium_browser.new_page(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page.goto(f"{live_server.url}/dashboard/")
    assert "/dashboard/login/" in page.url  # not logged in: sent to the login page
    assert_accessible(page, checked)

    page.fill("input[name=username]", therapist.email)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.click("button[type=submit]")
    # No second factor yet: every page sends the therapist to enrol one, with a QR code drawn inline.
    page.wait_for_url(f"{live_server.url}/dashboard/two-factor/")
    qr = page.locator("figure.qr svg")
    assert qr.count() == 1 and qr.bounding_box()["width"] >= 100
    assert_accessible(page, checked)
    secret = page.locator("#totp-secret").inner_text()
    enrolment_code = authenticator_code(secret)  # what the phone app would show now
    page.fill("input[name=code]", enrolment_code)
    page.click("main button[type=submit]")  # (the header's "Log out" is a submit button too)
    page.wait_for_selector("ul.recovery-codes")
    codes = page.locator("ul.recovery-codes li").all_inner_texts()
    assert len(codes) == 10 and len(set(codes)) == 10
    assert_accessible(page, checked)
    page.click("text=Continue to the dashboard")
    page.wait_for_url(f"{live_server.url}/dashboard/")
    assert page.locator("table.clients tbody tr").count() == 5

    # Sign out and in again: password, then the second step. The code used to enrol is refused a
    # second time (replay guard); a recovery code signs in.
    page.click("text=Log out")
    page.wait_for_url(re.compile(r".*/dashboard/login/$"))
    page.fill("input[name=username]", therapist.email)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{live_server.url}/dashboard/login/code/")
    assert_accessible(page, checked)
    page.fill("input[name=code]", enrolment_code)
    page.click("main button[type=submit]")
    page.wait_for_selector("#code-error")
    assert "wrong or was already used" in page.locator("main").inner_text()
    assert_accessible(page, checked)  # the error state too
    page.fill("input[name=code]", codes[0])
    page.click("main button[type=submit]")
    page.wait_for_url(f"{live_server.url}/dashboard/")
    assert page.locator("table.clients tbody tr").count() == 5
    assert_accessible(page, checked)

    page.click("text=Casey Client")
    page.wait_for_selector("svg.chart-trajectory")
    assert_accessible(page, checked)

    # The trajectory: four quadrants, one point per week, a path through them.
    trajectory = page.locator("svg.chart-trajectory")
    assert trajectory.locator("rect.quadrant").count() == 4
    assert trajectory.locator("circle.week").count() == 9
    assert len(trajectory.locator("path.trajectory").get_attribute("d")) > 20
    # Where it began and which way it went: a start marker and one arrowhead per moving step.
    assert trajectory.locator("rect.start").count() == 1
    assert trajectory.locator("text.start-label").text_content() == "start"
    steps = trajectory.locator("path.step")
    assert 1 <= steps.count() <= 8
    marker_id = trajectory.locator("marker").get_attribute("id")
    assert all(steps.nth(i).get_attribute("marker-end") == f"url(#{marker_id})" for i in range(steps.count()))
    box = trajectory.bounding_box()
    assert box and box["width"] > 200 and box["height"] > 200
    # Weekly series: means as markers and EWMA lines for both dimensions.
    weekly = page.locator("svg.chart-weekly")
    assert weekly.locator("circle.mean-anxiety").count() == 9
    assert weekly.locator("rect.mean-avoidance").count() == 9
    for key in ("anxiety", "avoidance"):
        assert weekly.locator(f"path.ewma-{key}").get_attribute("d").count("L") == 8
    assert weekly.locator("text.y-title").text_content() == "Mean score (1-7 scale)"
    title_box = weekly.locator("text.y-title").bounding_box()
    assert title_box and title_box["height"] > title_box["width"]  # rotated: reads up the y axis
    # The header: the latest week's position by the boundary rule, and the settled tendency.
    position = page.locator("[data-testid=latest-position]").inner_text()
    assert position.startswith("Latest week (from ") and "distance to secure" in position
    quadrant, distance = re.search(r"\): (\w+), distance to secure ([\d.]+)", position).groups()
    assert (quadrant == "secure") == (float(distance) == 0)
    tendency = page.locator("[data-testid=settled-tendency]").inner_text()
    settled = r"Settled tendency: (secure|preoccupied|dismissing|fearful) — the last two weeks agree"
    assert re.match(settled, tendency) or tendency.startswith("Settled tendency: not settled yet — ")
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

    # The README's picture of the dashboard (docs/dashboard.png) is a copy of this screenshot.
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    # Tablet portrait: the page reflows instead of scrolling sideways.
    page.set_viewport_size({"width": 820, "height": 1180})
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.screenshot(path=str(ARTIFACTS / "dashboard-tablet.png"), full_page=True)

    # Marking a session resets the digest.
    page.click("text=Mark a session now")
    page.wait_for_selector(".messages")
    assert int(page.locator("[data-testid=digest-new-checkins]").inner_text()) == 0

    # Each summary links to its own lines (a read of the summaries scope, logged like the others).
    page.click(f"text=Week {summary.iso_week}/{summary.iso_year}")
    page.wait_for_selector("[data-testid=summary-lines]")
    lines = page.locator("[data-testid=summary-lines] li").all_inner_texts()
    assert "2 check-ins." in lines
    assert "Settled tendency: not settled yet (it needs this week and the week before in the same quadrant)." in lines
    assert_accessible(page, checked)

    # Keyboard only, from the client list: Tab reaches the client's link, Enter opens the page.
    page.goto(f"{live_server.url}/dashboard/")
    tab_until(page, "el => el.tagName === 'A' && el.textContent.trim() === 'Casey Client'")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/dashboard/clients/{client.id}/")
    # On the client page: Tab reaches the summary's link, Enter opens it.
    tab_until(
        page, f"el => el.tagName === 'A' && el.textContent.includes('Week {summary.iso_week}/{summary.iso_year}')"
    )
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-testid=summary-lines]")
    # The header's Alerts link, then the alert's Acknowledge button, by keyboard alone.
    tab_until(page, "el => el.tagName === 'A' && el.textContent.trim() === 'Alerts'")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/dashboard/alerts/")
    assert page.locator("[data-testid=alert-row]").count() == 1
    assert_accessible(page, checked)
    tab_until(page, "el => el.tagName === 'BUTTON' && el.textContent.startsWith('Acknowledge')")
    page.keyboard.press("Enter")
    page.wait_for_selector(".messages")
    assert "Alert acknowledged." in page.locator(".messages").inner_text()
    alert.refresh_from_db()
    assert alert.acknowledged_at is not None and alert.acknowledged_by_id == therapist.id
    assert page.locator("main button", has_text="Acknowledge").count() == 0
    assert_accessible(page, checked)  # with the acknowledgement shown

    page.goto(f"{live_server.url}/dashboard/clients/{therapist.id}/")  # not a client of theirs
    assert page.locator("h1").count() == 1
    assert_accessible(page, checked)
    assert {"/login/", "/two-factor/", "/login/code/", "/", "/alerts/"} <= set(checked)

    resources = set(AccessLogEntry.objects.filter(client=client).values_list("resource", "channel"))
    assert resources == {("client_list", "web"), ("client_page", "web"), ("summaries", "web"), ("alerts", "web")}


def test_clinic_admin_pages_and_outcomes_are_accessible(live_server, chromium_browser, mailoutbox):
    """The clinic admin's side: sign in with the second step, the clinic pages, a therapist's page, the
    outcomes (hidden, then with five clients' figures), an invitation's joining page; axe on each."""
    admin = ClinicAdminFactory(email="ada@example.test", display_name="Ada Admin")
    therapist = TherapistFactory(email="mira@example.test", display_name="Mira Member")
    membership = ClinicMembership.objects.create(
        clinic=admin.clinic,
        user=therapist,
        role=ClinicMembership.Role.THERAPIST,
        licence_number="L-9",
        licence_jurisdiction="DE-BE",
        licence_expires_on=(timezone.now() + timedelta(days=365)).date(),
        licence_verified_at=timezone.now() - timedelta(days=30),
    )
    checked: list[str] = []
    page = chromium_browser.new_page(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page.goto(f"{live_server.url}/dashboard/login/")
    page.fill("input[name=username]", admin.email)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{live_server.url}/dashboard/login/code/")
    allow_code_reuse(admin)
    page.fill("input[name=code]", totp_code(admin))
    page.click("main button[type=submit]")
    page.wait_for_url(f"{live_server.url}/dashboard/clinics/")
    assert_accessible(page, checked)
    page.click(f"text={admin.clinic.name}")
    page.wait_for_url(f"{live_server.url}/dashboard/clinics/{admin.clinic.id}/")
    assert_accessible(page, checked)

    # Invite by email from the page: the message, then the joining link as the therapist would open it.
    page.fill("input[name=email]", "nia@example.test")
    page.click("text=Send invitation")
    page.wait_for_selector(".messages")
    assert_accessible(page, checked)
    page.fill("input[name=email]", "not-an-email")
    page.click("text=Send invitation")
    page.wait_for_selector("#invite-error")
    assert_accessible(page, checked)  # the error state

    page.click("text=Mira Member")
    page.wait_for_url(f"{live_server.url}/dashboard/clinics/{admin.clinic.id}/members/{membership.id}/")
    assert_accessible(page, checked)

    page.goto(f"{live_server.url}/dashboard/clinics/{admin.clinic.id}/")
    page.click("main a:text-is('Outcomes')")
    page.wait_for_url(f"{live_server.url}/dashboard/clinics/{admin.clinic.id}/outcomes/")
    assert "Too few clients to show." in page.locator("main").inner_text()
    assert_accessible(page, checked)
    start = timezone.now() - timedelta(weeks=5)
    for n, series in enumerate([[7, 6, 5, 4], [4, 5, 6, 7], [4, 5, 4, 5], [4, 5, 4, 5], [7, 6, 5, 4]]):
        client = UserFactory(email=f"client{n}@example.test", timezone="Europe/Berlin")
        ShareGrantFactory(client=client, therapist=therapist, accepted_at=start, created_at=start)
        for week, anxiety in enumerate(series):
            checkin_at(client, start + timedelta(weeks=week), anxiety=anxiety)
    page.reload()
    rows = page.locator("main table tbody tr").all_inner_texts()
    assert [row.split("\t")[:2] for row in rows] == [
        ["Reliably improved", "2"],
        ["Reliably worsened", "1"],
        ["No reliable change", "2"],
    ]
    assert_accessible(page, checked)
    page.fill("input[name=start]", "2030-01-02")
    page.click("main button:text-is('Show')")
    page.wait_for_selector("#start-error")
    assert_accessible(page, checked)  # the error state

    page.goto(f"{live_server.url}/dashboard/alerts/")  # therapists only
    assert page.locator("h1").inner_text() == "Therapists only"
    assert_accessible(page, checked)

    token = re.search(r"/dashboard/clinics/join/([\w-]+)/", mailoutbox[-1].body).group(1)
    visitor = chromium_browser.new_page(bypass_csp=True)
    visitor.goto(f"{live_server.url}/dashboard/clinics/join/{token}/")
    assert admin.clinic.name in visitor.locator("main").inner_text()
    assert_accessible(visitor, checked)
    visitor.goto(f"{live_server.url}/dashboard/clinics/join/not-a-token/")
    assert_accessible(visitor, checked)
    clinic = f"/clinics/{admin.clinic.id}/"
    assert set(checked) == {
        "/clinics/",
        clinic,
        f"{clinic}members/{membership.id}/",
        f"{clinic}outcomes/",
        "/alerts/",
        f"/clinics/join/{token}/",
        "/clinics/join/not-a-token/",
    }
