"""The client list's direction word (issue 14, B3): computed from SQL weekly means of only the weeks it
depends on, it must equal the verdict of the client's own trend report and of the old list code (the
full trend report over each client's whole history, `shared_data.trend_reports_for_clients`), on the
same data, for clients in several timezones, at frozen moments around local Monday midnight and DST;
and the list costs the same number of queries for 5 and for 200 clients."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from tests.factories import TherapistFactory, UserFactory
from tests.insights.trend_data import checkin, instrument
from tests.sharing.factories import ShareGrantFactory
from tracker.insights.selectors import trend_for_user
from tracker.models import CheckIn
from tracker.sharing.selectors.shared_data import directions_for_clients, trend_reports_for_clients

pytestmark = pytest.mark.django_db

ZONES = ["Europe/Berlin", "America/New_York", "Pacific/Auckland", "Asia/Kolkata", "UTC", "America/Los_Angeles"]


def old_directions(*, grants, now=None) -> dict:
    """The list's direction before issue 14: the whole trend report over each client's whole history
    (the alert rules still read those reports, so the old path ships as `trend_reports_for_clients`)."""
    reports = trend_reports_for_clients(clients={g.client_id: g.client for g in grants}, now=now)
    return {client_id: report["direction"]["value"] for client_id, report in reports.items()}


def seed_clients(rng: random.Random, therapist, n: int, now: datetime) -> list:
    """Clients with 0-60 weeks of history on one or two shipped instruments, a random drift (some get
    reliably worse early and flatten, some improve), check-ins at random local hours (many just around
    midnight, so the week they fall in depends on the timezone) and gaps."""
    shipped = [instrument("wmc"), instrument("ecr-s")]
    grants, rows = [], []
    for i in range(n):
        client = UserFactory(timezone=ZONES[i % len(ZONES)])
        grants.append(ShareGrantFactory(client=client, therapist=therapist, accepted_at=now - timedelta(days=i)))
        zone = ZoneInfo(client.timezone)
        used = rng.sample(shipped, rng.choice([1, 1, 2]))
        weeks = rng.choice([0, 2, 3, 5, 14, 30, 60])
        start, drift, jump = rng.uniform(2.5, 6), rng.gauss(0, 0.06), rng.choice([0, 0, 1.5, -1.5])
        for back in range(weeks, -1, -1):
            if rng.random() < 0.25:
                continue  # a gap
            for instr in used:
                for _ in range(rng.randint(1, 3)):
                    local = (now.astimezone(zone) - timedelta(weeks=back, days=rng.randint(0, 6))).replace(
                        hour=rng.choice([0, 0, 23, 23, 9, 18]), minute=rng.randint(0, 59)
                    )
                    at = min(local.astimezone(ZoneInfo("UTC")), now - timedelta(minutes=1))
                    level = start + drift * (weeks - back) + (jump if back < 8 else 0)
                    anxiety = min(7.0, max(1.0, round(level + rng.gauss(0, 0.5), 2)))
                    avoidance = min(7.0, max(1.0, round(level + rng.gauss(0, 0.5), 2)))
                    rows.append(checkin(client, at, anxiety, avoidance, instr=instr, save=False))
    CheckIn.objects.bulk_create(rows)
    return grants


MOMENTS = [
    datetime(2026, 3, 30, 0, 30, tzinfo=ZoneInfo("Europe/Berlin")),  # Monday after Berlin's spring-forward
    datetime(2026, 11, 2, 0, 10, tzinfo=ZoneInfo("America/New_York")),  # Monday after the US fall-back
    datetime(2026, 9, 28, 0, 5, tzinfo=ZoneInfo("Pacific/Auckland")),  # Monday after Auckland's DST start
    datetime(2026, 7, 15, 12, 0, tzinfo=ZoneInfo("UTC")),
]


@pytest.mark.parametrize("moment", MOMENTS, ids=lambda m: m.isoformat())
def test_list_directions_equal_the_trend_report_and_the_old_path(moment):
    therapist = TherapistFactory()
    with time_machine.travel(moment, tick=False):
        now = timezone.now()
        grants = seed_clients(random.Random(moment.isoformat()), therapist, 48, now)
        new = directions_for_clients(grants=grants)
        old = old_directions(grants=grants)
        page = {g.client_id: trend_for_user(user=g.client)["direction"]["value"] for g in grants}
    assert new == old == page
    # The data reached every verdict, so the comparison is not vacuous.
    assert set(new.values()) == {"improving", "stable", "worsening", "insufficient_data"}


def test_reliable_worsening_outside_the_slope_is_reported_as_the_report_does():
    """A client whose distance fell over the window but whose last two weeks are reliably worse than
    their first two (a year earlier): the list says "worsening", because the report does."""
    therapist, client = TherapistFactory(), UserFactory(timezone="Asia/Kolkata")
    grant = ShareGrantFactory(client=client, therapist=therapist)
    now = timezone.now()
    wmc = instrument("wmc")
    rows = [checkin(client, now - timedelta(weeks=52 - w), 2.0, 2.0, instr=wmc, save=False) for w in range(2)]
    rows += [
        checkin(client, now - timedelta(weeks=10 - w, hours=3), 6.5 - 0.1 * w, 6.5 - 0.1 * w, instr=wmc, save=False)
        for w in range(10)
    ]
    CheckIn.objects.bulk_create(rows)
    report = trend_for_user(user=client, now=now)
    assert report["direction"]["reason"] == "reliable_worsening"
    assert report["direction"]["distance_slope_per_week"] < 0
    assert directions_for_clients(grants=[grant], now=now) == {client.pk: "worsening"}


def test_deleted_and_future_checkins_do_not_count():
    therapist, client = TherapistFactory(), UserFactory(timezone="Europe/Berlin")
    grant = ShareGrantFactory(client=client, therapist=therapist)
    now = timezone.now()
    rows = [checkin(client, now - timedelta(weeks=w), 5.0, 5.0, save=False) for w in range(2)]
    rows.append(checkin(client, now - timedelta(weeks=2), 5.0, 5.0, save=False, deleted_at=now))
    rows.append(checkin(client, now + timedelta(minutes=5), 5.0, 5.0, save=False))
    CheckIn.objects.bulk_create(rows)
    assert directions_for_clients(grants=[grant], now=now) == {client.pk: "insufficient_data"}


def _list_queries(n: int) -> int:
    """Queries of `GET clients/` for a therapist with `n` clients, each with 20 weeks of history."""
    from rest_framework.test import APIClient

    from tracker.models import DeviceToken

    therapist = TherapistFactory()
    seed_clients(random.Random(n), therapist, n, timezone.now())
    api = APIClient()
    _, token = DeviceToken.objects.create(user=therapist)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = api.get("/api/v1/clients/?page_size=200")
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == n
    assert all(r["status"]["direction"] is not None for r in results)
    return len(queries)


def test_client_list_queries_are_flat_from_5_to_200_clients():
    small = _list_queries(5)
    large = _list_queries(200)
    # auth, the second-factor gate and the clinic verification (issue 15), grants page, weekly means,
    # instruments' metadata, access log (one INSERT): flat, whatever the number of clients
    assert small == large == 8
