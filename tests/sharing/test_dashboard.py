"""The dashboard's login, CSRF, and the SVG charts."""

import re

import pytest
from django.test import Client

from tests.factories import DEFAULT_PASSWORD, TherapistFactory
from tests.helpers import totp_code, web_login
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


def test_verified_therapist_logs_in_with_a_code_and_lands_on_the_client_list(client, therapist):
    response = login(client, therapist.email.upper())
    # The password alone signs nobody in: the code step comes next.
    assert response.status_code == 302 and response["Location"] == "/dashboard/login/code/"
    assert "_auth_user_id" not in client.session
    assert client.get("/dashboard/").status_code == 302
    response = client.post("/dashboard/login/code/", {"code": totp_code(therapist)})
    assert response.status_code == 302 and response["Location"] == "/dashboard/"
    assert client.get("/dashboard/").status_code == 200


@pytest.mark.parametrize("who", ["client", "unverified"])
def test_clients_and_unverified_therapists_cannot_log_in(client, client_user, who):
    user = client_user if who == "client" else TherapistFactory(is_verified=False)
    response = login(client, user.email)
    assert response.status_code == 200
    assert "for verified therapists and clinic admins" in response.content.decode()
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
    web_login(browser, therapist)
    assert browser.post(f"/dashboard/clients/{client_user.id}/sessions/").status_code == 403
    assert not TherapySession.objects.exists()
    page = browser.get(f"/dashboard/clients/{client_user.id}/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = browser.post(f"/dashboard/clients/{client_user.id}/sessions/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert TherapySession.objects.filter(therapist=therapist, client=client_user).count() == 1


def test_pages_are_not_cached_and_logout_is_a_post(client, client_user, therapist):
    ShareGrantFactory(client=client_user, therapist=therapist)
    web_login(client, therapist)
    response = client.get(f"/dashboard/clients/{client_user.id}/")
    assert "no-store" in response["Cache-Control"]
    assert client.get("/dashboard/logout/").status_code == 405
    assert client.post("/dashboard/logout/").status_code == 302
    assert client.get("/dashboard/").status_code == 302


def test_client_page_shows_charts_digest_and_only_shared_sections(client, client_user, therapist):
    ShareGrantFactory(client=client_user, therapist=therapist, scope_summaries=False)
    history_for(client_user, weeks=6)
    web_login(client, therapist)
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


def test_trajectory_marks_the_start_and_points_an_arrow_along_every_step():
    import xml.etree.ElementTree as ET

    svg = str(charts.trajectory_svg(weeks(4), cut=4))
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    ns = "{http://www.w3.org/2000/svg}"
    markers = root.findall(f".//{ns}marker")
    assert len(markers) == 1 and markers[0].get("orient") == "auto"
    marker_id = markers[0].get("id")
    steps = [p for p in root.iter(f"{ns}path") if p.get("class") == "step"]
    assert len(steps) == 3  # one per week-to-week step
    assert all(p.get("marker-end") == f"url(#{marker_id})" for p in steps)
    # Each arrow runs from a week toward the next one (half way), so the order reads without colour.
    first = re.findall(r"[\d.]+", steps[0].get("d"))
    circles = [c for c in root.iter(f"{ns}circle") if "week" in c.get("class", "")]
    assert (first[0], first[1]) == (circles[0].get("cx"), circles[0].get("cy"))
    start = [r for r in root.iter(f"{ns}rect") if r.get("class") == "start"]
    assert len(start) == 1
    assert abs(float(start[0].get("x")) + 6 - float(circles[0].get("cx"))) < 0.1
    assert "Start: week of 2026-01-05" in "".join(start[0].itertext())
    assert ">start</text>" in svg


def test_trajectory_with_one_week_has_no_start_marker_or_arrows_and_a_still_step_has_no_arrow():
    one = str(charts.trajectory_svg(weeks(1), cut=4))
    assert 'class="start"' not in one and 'class="step"' not in one
    same = [{**w, "anxiety": 5.0, "avoidance": 5.0} for w in weeks(2)]
    svg = str(charts.trajectory_svg(same, cut=4))
    assert 'class="start"' in svg and 'class="step"' not in svg


def test_weekly_chart_has_a_y_axis_title():
    svg = str(charts.weekly_series_svg(weeks(4)))
    assert re.search(r'<text class="axis-title y-title" transform="translate\(14 [\d.]+\) rotate\(-90\)"', svg)
    assert ">Mean score (1-7 scale)</text>" in svg


def week(start, anxiety, avoidance):
    return {"week_start": start, "anxiety": anxiety, "avoidance": avoidance, "checkins": 1 if anxiety else 0}


def test_latest_position_uses_the_boundary_rule_on_the_weekly_means():
    from tracker.sharing.dashboard.views import latest_position

    # On the cut exactly: secure, distance 0.
    position = latest_position([week("2026-01-05", 4.0, 4.0)], cut=4.0)
    assert position["quadrant"] == "secure" and position["distance_to_secure"] == 0
    # A hair above on one dimension: not secure, distance above 0.
    position = latest_position([week("2026-01-05", 4.0, 4.01)], cut=4.0)
    assert position["quadrant"] == "dismissing" and position["distance_to_secure"] > 0
    # The latest week *with check-ins* counts; empty weeks after it are skipped.
    position = latest_position([week("2026-01-05", 5.0, 5.0), week("2026-01-12", None, None)], cut=4.0)
    assert position["week_start"] == "2026-01-05" and position["quadrant"] == "fearful"
    assert abs(position["distance_to_secure"] - 2**0.5) < 1e-9
    assert latest_position([week("2026-01-05", None, None)], cut=4.0) is None


@pytest.mark.parametrize(
    ("history", "settled", "reason"),
    [
        ([("2026-01-05", 3, 3), ("2026-01-12", 4, 4)], "secure", "the last two weeks agree"),
        ([("2026-01-05", 5, 3), ("2026-01-12", 3, 3)], None, "the week before was preoccupied, the latest week secure"),
        ([("2026-01-05", 3, 3), ("2026-01-12", None, None), ("2026-01-19", 3, 3)], None, "no check-ins"),
        ([("2026-01-05", 3, 3)], None, "no check-ins"),
    ],
)
def test_settled_tendency_needs_the_last_two_calendar_weeks_in_one_quadrant(history, settled, reason):
    from tracker.sharing.dashboard.views import latest_position

    position = latest_position([week(*w) for w in history], cut=4.0)
    assert position["settled"] == settled
    assert reason in position["settled_reason"]


def test_client_page_header_shows_the_latest_position_and_the_settled_tendency(client, client_user, therapist):
    ShareGrantFactory(client=client_user, therapist=therapist)
    history_for(client_user, weeks=6)
    web_login(client, therapist)
    html = client.get(f"/dashboard/clients/{client_user.id}/").content.decode()
    position = re.search(r'data-testid="latest-position">(.*?)</p>', html, re.S).group(1)
    assert "Latest week (from " in position and "distance to secure" in position
    quadrant = re.search(r"<strong>(\w+)</strong>, distance to secure ([\d.]+)", position)
    assert (quadrant.group(1) == "secure") == (float(quadrant.group(2)) == 0)
    tendency = re.search(r'data-testid="settled-tendency">(.*?)</p>', html, re.S).group(1)
    assert tendency.startswith("Settled tendency: ")
    assert "the last two weeks agree" in tendency or "not settled yet" in tendency


def test_client_page_header_has_no_position_without_the_checkins_scope(client, client_user, therapist):
    ShareGrantFactory(client=client_user, therapist=therapist, scope_checkins=False)
    history_for(client_user, weeks=3)
    web_login(client, therapist)
    html = client.get(f"/dashboard/clients/{client_user.id}/").content.decode()
    assert "latest-position" not in html and "Settled tendency" not in html


def test_summaries_link_to_a_page_with_the_weeks_lines_logged_and_scope_cut(client, client_user, therapist):
    from datetime import date

    from tests.sharing.factories import WeeklySummaryFactory
    from tracker.models import AccessLogEntry

    grant = ShareGrantFactory(client=client_user, therapist=therapist)
    WeeklySummaryFactory(
        user=client_user,
        week_start=date(2026, 1, 5),
        payload={
            "schema": 3,
            "checkins": 3,
            "anxiety": 4.5,
            "avoidance": 3.0,
            "distance_to_secure": 0.6,
            "quadrant": "preoccupied",
            "quadrant_cut": 4.0,
            "distance_change": -0.25,
            "week_over_week": "closer_to_secure",
            "tendency": "preoccupied",
            "safety_flags": 1,
            "regulation": {"episodes": 2, "mean_drop": 3.0, "median_recovery_minutes": 20},
        },
    )
    other = WeeklySummaryFactory(week_start=date(2026, 1, 12))  # someone else's
    web_login(client, therapist)
    page = client.get(f"/dashboard/clients/{client_user.id}/").content.decode()
    url = f"/dashboard/clients/{client_user.id}/summaries/2026-W2/"
    assert f'href="{url}"' in page

    before = AccessLogEntry.objects.filter(client=client_user, resource="summaries", channel="web").count()
    response = client.get(url)
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    html = response.content.decode()
    for line in (
        "3 check-ins.",
        "Mean anxiety 4.50, mean avoidance 3.00: the week&#x27;s position is preoccupied.",
        "Distance to secure: closer to secure than the week before (-0.25).",
        "Settled tendency: preoccupied (this week and the week before agree).",
        "Safety flags: 1.",
        "2 regulation episodes, mean drop in intensity 3.0, median recovery 20 minutes.",
    ):
        assert line in html
    after = AccessLogEntry.objects.filter(client=client_user, resource="summaries", channel="web").count()
    assert after == before + 1

    # Another client's week, a week without a summary, and a grant without the summaries scope: 404.
    assert client.get(f"/dashboard/clients/{other.user_id}/summaries/2026-W3/").status_code == 404
    assert client.get(f"/dashboard/clients/{client_user.id}/summaries/2026-W9/").status_code == 404
    grant.scope_summaries = False
    grant.save()
    assert client.get(url).status_code == 404
    assert AccessLogEntry.objects.filter(client=client_user, resource="summaries", channel="web").count() == after
