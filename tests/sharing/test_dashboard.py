"""The dashboard's login, CSRF, and the SVG charts."""

import re

import pytest
from django.test import Client

from tests.factories import DEFAULT_PASSWORD, TherapistFactory
from tests.sharing.factories import ShareGrantFactory, history_for
from tracker.models import TherapySession
from tracker.sharing.dashboard import charts

pytestmark = pytest.mark.django_db
LOGIN = "/dashboard/login/"


def login(browser, email, password=DEFAULT_PASSWORD):
    return browser.post(LOGIN, {"username": email, "password": password})


def test_login_page_renders_with_csrf_and_local_assets(client):
    html = client.get(LOGIN).content.decode()
    assert "csrfmiddlewaretoken" in html
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert all(not s.startswith(("http://", "https://", "//")) for s in sources), sources
    assert client.get("/static/dashboard/dashboard.css").status_code == 200


def test_verified_therapist_logs_in_and_lands_on_the_client_list(client, therapist):
    response = login(client, therapist.email.upper())
    assert response.status_code == 302 and response["Location"] == "/dashboard/"
    assert client.get("/dashboard/").status_code == 200


@pytest.mark.parametrize("who", ["client", "unverified"])
def test_clients_and_unverified_therapists_cannot_log_in(client, client_user, who):
    user = client_user if who == "client" else TherapistFactory(is_verified=False)
    response = login(client, user.email)
    assert response.status_code == 200
    assert "for verified therapists" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_login_locks_after_repeated_failures_even_with_the_right_password(client, therapist, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    for _ in range(2):
        assert "wrong" in login(client, therapist.email, "nope-nope-nope").content.decode()
    assert "Too many failed logins" in login(client, therapist.email, "nope-nope-nope").content.decode()
    response = login(client, therapist.email)
    assert "Too many failed logins" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # The lock is shared with the API login: one cannot be used to get around the other.
    body = {"email": therapist.email, "password": DEFAULT_PASSWORD}
    api = client.post("/api/v1/auth/login", body, content_type="application/json")
    assert api.status_code == 429


def test_posts_need_a_csrf_token(client_user, therapist):
    ShareGrantFactory(client=client_user, therapist=therapist)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(therapist)
    assert browser.post(f"/dashboard/clients/{client_user.id}/sessions/").status_code == 403
    assert not TherapySession.objects.exists()
    page = browser.get(f"/dashboard/clients/{client_user.id}/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = browser.post(f"/dashboard/clients/{client_user.id}/sessions/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert TherapySession.objects.filter(therapist=therapist, client=client_user).count() == 1


def test_pages_are_not_cached_and_logout_is_a_post(client, client_user, therapist):
    ShareGrantFactory(client=client_user, therapist=therapist)
    client.force_login(therapist)
    response = client.get(f"/dashboard/clients/{client_user.id}/")
    assert "no-store" in response["Cache-Control"]
    assert client.get("/dashboard/logout/").status_code == 405
    assert client.post("/dashboard/logout/").status_code == 302
    assert client.get("/dashboard/").status_code == 302


def test_client_page_shows_charts_digest_and_only_shared_sections(client, client_user, therapist):
    ShareGrantFactory(client=client_user, therapist=therapist, scope_summaries=False)
    history_for(client_user, weeks=6)
    client.force_login(therapist)
    html = client.get(f"/dashboard/clients/{client_user.id}/").content.decode()
    for kind in ("trajectory", "weekly", "strategies"):
        assert f"chart-{kind}" in html
    assert 'id="digest"' in html
    assert "Weekly summaries" not in html  # not shared


def weeks(n):
    return [
        {
            "week_start": f"2026-01-{i + 5:02d}",
            "anxiety": 6 - i * 0.3,
            "avoidance": 5 - i * 0.2,
            "distance_to_secure": 2.0,
            "checkins": 3,
            "ewma": {"anxiety": 6 - i * 0.2, "avoidance": 5 - i * 0.1, "distance_to_secure": 2.0},
        }
        for i in range(n)
    ]


def test_trajectory_draws_four_labelled_quadrants_at_the_cut_and_one_point_per_week():
    svg = str(charts.trajectory_svg(weeks(5), cut=4))
    assert svg.count('class="quadrant ') == 4
    for name in ("secure", "preoccupied", "dismissing", "fearful"):
        assert f">{name}</text>" in svg
    assert svg.count('<circle class="week') == 5 and 'class="week latest"' in svg
    assert re.search(r'<path class="trajectory" d="M[\d. L]+"', svg)
    assert 'role="img"' in svg and "<title" in svg and "<desc" in svg
    # The cut line sits at 4 on a 1-7 axis: halfway across the plot.
    xs = re.findall(r'<line class="cut" x1="([\d.]+)"', svg)
    assert xs and abs(float(xs[0]) - (48 + (380 - 96) / 2)) < 0.1


def test_weekly_chart_has_means_and_ewma_for_both_dimensions():
    svg = str(charts.weekly_series_svg(weeks(4)))
    assert svg.count('class="mean mean-anxiety"') == 4
    assert svg.count('class="mean mean-avoidance"') == 4
    assert 'class="ewma ewma-anxiety"' in svg and 'class="ewma ewma-avoidance"' in svg
    assert 'stroke-dasharray="7 4"' in svg  # avoidance differs by dash too, not only colour


def test_strategy_chart_escapes_labels_and_draws_negative_drops_left_of_zero():
    svg = str(
        charts.strategy_drop_svg(
            [
                {"strategy": "<script>alert(1)</script>", "episodes": 3, "mean_drop": 2.5},
                {"strategy": "rumination", "episodes": 4, "mean_drop": -1.0},
            ]
        )
    )
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert svg.count('class="bar"') == 2
    assert charts.VERMILLION in svg and charts.GREEN in svg


@pytest.mark.parametrize("draw", [charts.trajectory_svg, charts.weekly_series_svg, charts.strategy_drop_svg])
def test_charts_say_so_when_there_is_no_data(draw):
    svg = str(draw([]))
    assert "<svg" in svg and ("No weekly" in svg or "Not enough" in svg)


HOSTILE = '<script>alert("x")</script>&"'


@pytest.mark.parametrize(
    "draw",
    [
        lambda: charts.trajectory_svg([{**w, "week_start": HOSTILE} for w in weeks(3)], cut=4),
        lambda: charts.weekly_series_svg([{**w, "week_start": f"2026-{HOSTILE}"} for w in weeks(3)]),
        lambda: charts.strategy_drop_svg(
            [
                {"strategy": HOSTILE, "episodes": 3, "mean_drop": 2.0},
                {"strategy": "breathing", "episodes": 5, "mean_drop": 1.0},
            ]
        ),
    ],
    ids=["trajectory", "weekly", "strategies"],
)
def test_hostile_text_in_chart_data_comes_out_escaped_and_the_svg_stays_well_formed(draw):
    import xml.etree.ElementTree as ET

    svg = str(draw())
    assert "<script" not in svg and "&lt;script&gt;" in svg
    root = ET.fromstring(svg)  # noqa: S314 - our own output; well-formed: nothing broke out of an attribute
    texts = " ".join(root.itertext())
    assert '<script>alert("x")</script>' in texts  # shown as text, never as markup
    assert not [el for el in root.iter() if el.tag.endswith("script")]


def test_charts_are_rendered_by_templates_with_no_mark_safe_anywhere():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    offenders = [
        str(path.relative_to(root))
        for folder in ("tracker", "notifications", "config")
        for path in (root / folder).rglob("*.py")
        if "mark_safe" in path.read_text()
    ]
    assert offenders == []
