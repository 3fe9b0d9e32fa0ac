"""Alert rules the client agreed to: episodes across ticks (travelled clock, DST, several zones),
switching off, the email without health data, scope, revocation, 404s, the access log, dashboard."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.test import Client

from tests.alerts.helpers import checkin_at, regulation_log_at, tick_at
from tests.helpers import assert_error, web_login
from tests.sharing.factories import ShareGrantFactory
from tracker.models import AccessLogEntry, Alert, AlertKind, AlertRule

pytestmark = pytest.mark.django_db

ZONES = ["Europe/Berlin", "America/New_York", "Pacific/Auckland"]
# Spans Berlin's spring-forward (29 Mar 2026), New York's (8 Mar) and Auckland's fall-back (5 Apr).
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def local_noon(zone: str, day: datetime) -> datetime:
    """Noon on `day`'s local date in `zone`, as UTC (so weeks fall where the client lives)."""
    local = day.astimezone(ZoneInfo(zone)).replace(hour=12, minute=0, second=0, microsecond=0)
    return local.astimezone(UTC)


def alerts(kind=None):
    qs = Alert.objects.all() if kind is None else Alert.objects.filter(kind=kind)
    return list(qs.order_by("fired_at"))


def share(client_user, therapist, **kwargs):
    return ShareGrantFactory(client=client_user, therapist=therapist, accepted_at=START, created_at=START, **kwargs)


@pytest.mark.parametrize("zone", ZONES)
def test_no_checkin_fires_once_per_episode_and_again_after_it_clears(client_user, therapist, zone, settings):
    client_user.timezone = zone
    client_user.save()
    share(client_user, therapist)
    checkin_at(client_user, START + timedelta(hours=1))
    n = settings.ALERT_NO_CHECKIN_DAYS
    for day in range(1, n):  # a day short of N: nothing
        tick_at(START + timedelta(days=day, hours=2))
    assert alerts(AlertKind.NO_CHECKIN) == []
    for hours in (0, 6, 24, 48, 72):  # the condition holds on every one of these ticks
        tick_at(START + timedelta(days=n, hours=2 + hours))
    [first] = alerts(AlertKind.NO_CHECKIN)
    assert first.episode_ended_at is None
    assert first.fired_at == START + timedelta(days=n, hours=2)
    # The client checks in: the episode ends on the next tick; the alert stays, closed.
    back = START + timedelta(days=n + 4)
    checkin_at(client_user, back)
    tick_at(back + timedelta(hours=1))
    first.refresh_from_db()
    assert first.episode_ended_at == back + timedelta(hours=1)
    assert AlertRule.objects.get(kind=AlertKind.NO_CHECKIN).active_since is None
    # Silence again for N days (across the DST changes): a second episode, a second alert.
    for day in range(1, n + 3):
        tick_at(back + timedelta(days=day, hours=1))
    assert [a.fired_at for a in alerts(AlertKind.NO_CHECKIN)] == [
        first.fired_at,
        back + timedelta(days=n, hours=1),
    ]
    assert len(mail.outbox) == 2  # one email per episode, not per tick


def rising_weeks(user, zone, values, first_week: int = 0):
    """One check-in a week (local Wednesday noon) with anxiety from `values`, avoidance 4."""
    monday = datetime(2026, 3, 2, 12, tzinfo=UTC)  # a Monday
    for i, anxiety in enumerate(values):
        last = local_noon(zone, monday + timedelta(weeks=first_week + i, days=2))
        checkin_at(user, last, anxiety=anxiety)
    return last + timedelta(hours=1)


@pytest.mark.parametrize("zone", ZONES)
def test_worsening_and_rising_distance_fire_once_then_again_in_a_new_episode(client_user, therapist, zone):
    client_user.timezone = zone
    client_user.save()
    share(client_user, therapist)
    # D = 0, 1, 2, 3: three rises in a row; baseline anxiety (4+5)/2, now (6+7)/2 -> RC = 2.0/0.8485 = 2.36.
    after = rising_weeks(client_user, zone, [4, 5, 6, 7])
    for hours in (0, 1, 12, 30):
        tick_at(after + timedelta(hours=hours))
    assert len(alerts(AlertKind.DISTANCE_RISING)) == 1
    assert len(alerts(AlertKind.RELIABLE_WORSENING)) == 1
    # Week 5 back at the cut: D falls, and "now" (weeks 4-5) is no longer reliably worse.
    after = rising_weeks(client_user, zone, [4], first_week=4)
    tick_at(after)
    assert all(a.episode_ended_at == after for a in alerts())
    # Weeks 6-8 rise again from D = 0: a new distance episode (and a new worsening one).
    after = rising_weeks(client_user, zone, [5, 6, 7], first_week=5)
    tick_at(after)
    tick_at(after + timedelta(hours=3))
    assert [a.episode_ended_at is None for a in alerts(AlertKind.DISTANCE_RISING)] == [False, True]
    assert len(alerts(AlertKind.RELIABLE_WORSENING)) == 2


def test_the_rules_read_the_trend_engine_the_client_page_shows(client_user, therapist, therapist_api):
    share(client_user, therapist)
    after = rising_weeks(client_user, "Europe/Berlin", [4, 5, 6, 7])
    tick_at(after)
    import time_machine

    with time_machine.travel(after, tick=False):
        trend = therapist_api.get(f"/api/v1/clients/{client_user.id}/trends/").json()
    rci = trend["statistics"]["reliable_change"]
    assert rci["anxiety"]["change"] == "worsened"
    assert rci["avoidance"]["change"] == "no_reliable_change"
    assert {a.kind for a in alerts()} == {AlertKind.RELIABLE_WORSENING, AlertKind.DISTANCE_RISING}


def test_switched_off_rules_never_fire(client_user, client_api, therapist):
    grant = share(client_user, therapist)
    for kind in (AlertKind.DISTANCE_RISING, AlertKind.NO_CHECKIN):
        response = client_api.patch(f"/api/v1/shares/{grant.id}/alert-rules/{kind}/", {"enabled": False}, format="json")
        assert response.status_code == 200, response.content
        assert response.json()["enabled"] is False
    after = rising_weeks(client_user, "Europe/Berlin", [4, 5, 6, 7])
    for days in range(0, 30, 3):  # long silence after the last check-in, too
        tick_at(after + timedelta(days=days))
    assert {a.kind for a in alerts()} == {AlertKind.RELIABLE_WORSENING}
    # On again while the distance condition no longer holds (the window moved on): nothing fires late.
    rules = client_api.get(f"/api/v1/shares/{grant.id}/alert-rules/").json()
    assert [(r["kind"], r["enabled"]) for r in rules] == [
        ("safety_flag", True),
        ("reliable_worsening", True),
        ("no_checkin", False),
        ("distance_rising", False),
    ]


def test_safety_flag_fires_once_and_again_after_acknowledgment(client_user, therapist, therapist_api):
    share(client_user, therapist)
    at = START + timedelta(days=1)
    regulation_log_at(client_user, at, safety_answer=True, note="wanted to hurt myself", trigger="rejection")
    regulation_log_at(client_user, at + timedelta(hours=3), safety_answer=True)
    for hours in (4, 5, 30):
        tick_at(at + timedelta(hours=hours))
    [alert] = alerts(AlertKind.SAFETY_FLAG)
    assert alert.scope == "regulation_logs"
    import time_machine

    with time_machine.travel(at + timedelta(hours=31), tick=False):
        first = therapist_api.post(f"/api/v1/alerts/{alert.id}/acknowledge/")
        again = therapist_api.post(f"/api/v1/alerts/{alert.id}/acknowledge/")
    assert first.status_code == again.status_code == 200
    assert first.json()["acknowledged_at"] == again.json()["acknowledged_at"]
    assert first.json()["acknowledged_by"]["id"] == str(therapist.id)
    tick_at(at + timedelta(hours=32))  # acknowledged: the episode ends, no new alert for the old flags
    assert len(alerts(AlertKind.SAFETY_FLAG)) == 1
    checkin_at(client_user, at + timedelta(days=2), safety_answer=True)  # a new flag, on a check-in
    tick_at(at + timedelta(days=2, hours=1))
    assert [a.scope for a in alerts(AlertKind.SAFETY_FLAG)] == ["regulation_logs", "checkins"]


def test_the_email_says_only_that_there_is_an_alert(client_user, therapist):
    client_user.display_name = "Marguerite"
    client_user.save()
    share(client_user, therapist)
    rising_weeks(client_user, "Europe/Berlin", [4, 5, 6])
    at = datetime(2026, 3, 25, 18, tzinfo=UTC)
    checkin_at(client_user, at, anxiety=7, safety_answer=True, note="slept badly, rang my sister")
    regulation_log_at(client_user, at, safety_answer=True, trigger="abandonment", note="the argument")
    tick_at(at + timedelta(hours=1))
    assert {a.kind for a in alerts()} >= {AlertKind.SAFETY_FLAG, AlertKind.RELIABLE_WORSENING}
    [email] = mail.outbox  # several alerts, one email
    assert email.to == [therapist.email]
    text = f"{email.subject}\n{email.body}"
    assert "/dashboard/alerts/" in text
    forbidden = [
        "Marguerite",
        client_user.email,
        str(client_user.id),
        "slept badly",
        "sister",
        "argument",
        "abandonment",
        "conflict",
        "safety",
        "worsen",
        "distance",
        "check-in",
        "anxiety",
        "avoidance",
    ]
    for word in forbidden:
        assert word.lower() not in text.lower(), word
    assert not re.search(r"\d", email.body.replace("/dashboard/alerts/", "").split("http")[0])  # no figures
    tick_at(at + timedelta(hours=2))
    assert len(mail.outbox) == 1  # no second email for the same alerts


def fired(client_user, therapist):
    share(client_user, therapist)
    after = rising_weeks(client_user, "Europe/Berlin", [4, 5, 6, 7])
    tick_at(after)
    return alerts()


def test_alerts_are_the_therapists_own_and_404_for_others(
    client_user, therapist, therapist_api, other_therapist_api, client_api
):
    [a, b] = fired(client_user, therapist)
    body = therapist_api.get("/api/v1/alerts/").json()
    assert {r["id"] for r in body["results"]} == {str(a.id), str(b.id)}
    row = body["results"][0]
    assert row["client"]["id"] == str(client_user.id)
    assert row["links"]["dashboard"] == f"/dashboard/clients/{client_user.id}/"
    assert other_therapist_api.get("/api/v1/alerts/").json()["results"] == []
    assert_error(other_therapist_api.post(f"/api/v1/alerts/{a.id}/acknowledge/"), 404, "not_found")
    assert_error(therapist_api.post("/api/v1/alerts/6f1c0000-0000-4000-8000-000000000000/acknowledge/"), 404)
    assert Alert.objects.filter(acknowledged_at__isnull=False).count() == 0
    assert_error(client_api.get("/api/v1/alerts/"), 403, "therapists_only")
    # Reads are in the client's access log.
    logged = AccessLogEntry.objects.filter(resource="alerts", therapist=therapist, client=client_user)
    assert logged.count() == 1


def test_scope_and_revocation_hide_alerts_and_stop_new_ones(client_user, therapist, therapist_api, client_api):
    [a, _b] = fired(client_user, therapist)
    grant = a.grant
    response = client_api.patch(f"/api/v1/shares/{grant.id}/", {"scopes": ["regulation_logs"]}, format="json")
    assert response.status_code == 200
    assert therapist_api.get("/api/v1/alerts/").json()["results"] == []  # both read check-ins
    assert_error(therapist_api.post(f"/api/v1/alerts/{a.id}/acknowledge/"), 404)
    client_api.patch(f"/api/v1/shares/{grant.id}/", {"scopes": ["checkins", "regulation_logs"]}, format="json")
    assert len(therapist_api.get("/api/v1/alerts/").json()["results"]) == 2
    assert client_api.delete(f"/api/v1/shares/{grant.id}/").status_code == 204
    assert therapist_api.get("/api/v1/alerts/").json()["results"] == []
    before = Alert.objects.count()
    for days in range(1, 40, 4):
        tick_at(a.fired_at + timedelta(days=days))
    assert Alert.objects.count() == before


def test_rule_api_refuses_bad_input_and_other_peoples_shares(client_user, client_api, other_client_api, therapist):
    grant = share(client_user, therapist)
    url = f"/api/v1/shares/{grant.id}/alert-rules/"
    rules = client_api.get(url).json()
    assert [r["enabled"] for r in rules] == [True] * 4
    assert rules[2]["description"] == "No check-in for 8 days."
    assert_error(client_api.patch(f"{url}no_checkin/", {"enabled": "no"}, format="json"), 400, fields=["enabled"])
    assert_error(client_api.patch(f"{url}no_checkin/", {}, format="json"), 400, fields=["enabled"])
    assert_error(client_api.patch(f"{url}bogus/", {"enabled": False}, format="json"), 404)
    assert_error(other_client_api.get(url), 404)
    assert_error(other_client_api.patch(f"{url}no_checkin/", {"enabled": False}, format="json"), 404)
    assert AlertRule.objects.filter(enabled=False).count() == 0


def test_evaluation_queries_do_not_grow_with_shares(django_assert_max_num_queries, therapist, settings):
    from tests.factories import UserFactory
    from tracker.alerts.services import alerts_evaluate_job

    def make(n):
        for _ in range(n):
            user = UserFactory()
            ShareGrantFactory(client=user, therapist=therapist, accepted_at=START)
            checkin_at(user, START + timedelta(hours=1))

    now = START + timedelta(days=1)
    make(2)
    alerts_evaluate_job(now=now)
    with django_assert_max_num_queries(12):
        alerts_evaluate_job(now=now)
    make(10)
    alerts_evaluate_job(now=now)
    with django_assert_max_num_queries(12):
        alerts_evaluate_job(now=now)


def test_dashboard_lists_marks_and_acknowledges_with_csrf(client_user, therapist):
    [a, _b] = fired(client_user, therapist)
    web = Client(enforce_csrf_checks=True)
    web_login(web, therapist)
    page = web.get("/dashboard/alerts/")
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('data-testid="alert-row"') == 2
    client_page = web.get(f"/dashboard/clients/{client_user.id}/").content.decode()
    assert 'data-testid="alert-mark"' in client_page and "2 unacknowledged alerts</a>" in client_page
    url = f"/dashboard/alerts/{a.id}/acknowledge/"
    assert web.post(url).status_code == 403  # no CSRF token
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    response = web.post(url, {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    a.refresh_from_db()
    assert a.acknowledged_by_id == therapist.id
    client_page = web.get(f"/dashboard/clients/{client_user.id}/").content.decode()
    assert "1 unacknowledged alert</a>" in client_page
    assert AccessLogEntry.objects.filter(resource="alerts", channel="web").count() == 2
