"""Weekly summaries: the scheduler job (set-based, idempotent, DST-correct), back-fills, and the API."""

import io
import math
import random
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from notifications.scheduler import run_tick
from tests.factories import UserFactory
from tests.helpers import assert_error, load_licensed_wording
from tests.insights.trend_data import checkin, instrument, reglog
from tests.notifications.factories import checkin_with, dimension_answers
from tracker.common.weeks import WEEK, local_week_start
from tracker.insights import services as summaries
from tracker.insights.selectors import trend_for_user
from tracker.insights.services import summaries_due_job
from tracker.models import CheckIn, RegulationLog, User, WeeklySummary
from tracker.templatetags.dashboard import summary_lines as dashboard_summary_lines
from tracker.templatetags.dashboard import summary_row

pytestmark = pytest.mark.django_db(transaction=False)

JOB = "tracker.insights.services.summaries_due_job"
TIMEZONES = ["Pacific/Auckland", "America/Los_Angeles", "Asia/Kolkata", "Europe/Berlin", "UTC"]


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def snapshot():
    return sorted(
        WeeklySummary.objects.values_list(
            "user_id", "week_start", "iso_year", "iso_week", "payload", "computed_at", "notified_at"
        ),
        key=lambda row: (str(row[0]), row[1]),
    )


def test_the_job_is_a_configured_scheduler_job(settings):
    assert JOB in settings.SCHEDULER_JOBS


@pytest.mark.parametrize(
    ("tz", "scheduled_on", "week_end_utc", "late_checkin", "week_start", "next_end_utc"),
    [
        # LA leaves DST on Sun 1 Nov: the week of 26 Oct ends Mon 2 Nov 00:00 PST = 08:00 UTC (169 h).
        (
            "America/Los_Angeles",
            utc(2026, 10, 28, 12),
            utc(2026, 11, 2, 8),
            utc(2026, 11, 2, 7, 30),
            "2026-10-26",
            utc(2026, 11, 9, 8),
        ),
        # Auckland leaves DST on Sun 5 Apr: the week of 30 Mar ends Mon 6 Apr 00:00 NZST = 12:00 UTC on the 5th.
        (
            "Pacific/Auckland",
            utc(2026, 4, 1, 0),
            utc(2026, 4, 5, 12),
            utc(2026, 4, 5, 11, 30),
            "2026-03-30",
            utc(2026, 4, 12, 12),
        ),
        # Auckland enters DST on Sun 27 Sep: the week of 28 Sep ends Mon 5 Oct 00:00 NZDT = 11:00 UTC on the 4th.
        (
            "Pacific/Auckland",
            utc(2026, 9, 30, 0),
            utc(2026, 10, 4, 11),
            utc(2026, 10, 4, 10, 30),
            "2026-09-28",
            utc(2026, 10, 11, 11),
        ),
        (
            "Asia/Kolkata",
            utc(2026, 2, 25, 0),
            utc(2026, 3, 1, 18, 30),
            utc(2026, 3, 1, 18, 20),
            "2026-02-23",
            utc(2026, 3, 8, 18, 30),
        ),
    ],
)
def test_summary_is_written_when_the_users_local_week_ends(
    settings, tz, scheduled_on, week_end_utc, late_checkin, week_start, next_end_utc
):
    settings.SCHEDULER_JOBS = [JOB]
    user = UserFactory(timezone=tz)
    with time_machine.travel(scheduled_on, tick=False):
        run_tick()
    user.refresh_from_db()
    assert user.next_summary_at == week_end_utc

    checkin(user, late_checkin, 5.0, 3.0)  # the last minutes of the local Sunday
    checkin(user, week_end_utc, 1.0, 1.0)  # the first minute of the next local week
    reglog(user, late_checkin, before=8, after=3, strategies=["breathing"], reached_out=True, recovery=15)

    with time_machine.travel(week_end_utc - timedelta(seconds=1), tick=False):
        assert run_tick().processed[JOB] == 0
    assert not WeeklySummary.objects.exists()

    with time_machine.travel(week_end_utc, tick=False):
        assert run_tick().processed[JOB] == 1
    summary = WeeklySummary.objects.get(user=user)
    assert summary.week_start.isoformat() == week_start
    assert summary.notified_at is None  # the notifications issue announces it
    assert summary.payload["checkins"] == 1 and summary.payload["anxiety"] == 5.0
    assert summary.payload["regulation"]["episodes"] == 1 and summary.payload["regulation"]["mean_drop"] == 5.0
    assert (summary.iso_year, summary.iso_week) == date.fromisoformat(week_start).isocalendar()[:2]
    user.refresh_from_db()
    assert user.next_summary_at == next_end_utc


def test_summary_payload_agrees_with_the_trends_series():
    user = UserFactory(timezone="America/Los_Angeles")
    for day in range(5):
        checkin(user, utc(2026, 11, 2, 18) + timedelta(days=day), 3 + day / 3, 5 - day / 4)
    user.next_summary_at = utc(2026, 11, 9, 8)
    user.save()
    summaries_due_job(now=utc(2026, 11, 9, 9))
    payload = WeeklySummary.objects.get(user=user).payload
    week = next(w for w in trend_for_user(user=user, weeks=2, now=utc(2026, 11, 9, 9))["weeks"] if w["checkins"])
    for key in ("week_start", "iso_year", "iso_week", "checkins", "anxiety", "avoidance", "distance_to_secure"):
        assert payload[key] == pytest.approx(week[key]) if isinstance(week[key], float) else payload[key] == week[key]


def make_population(n_users: int, *, week_start: date, seed: int = 7) -> list[User]:
    """n users across timezones, each with a check-in in their local week, a tenth with a log."""
    rng = random.Random(seed)
    instr = instrument()
    users = [
        User(email=f"bulk{i}@example.test", password="!", timezone=TIMEZONES[i % len(TIMEZONES)])
        for i in range(n_users)
    ]
    User.objects.bulk_create(users, batch_size=2000)
    rows, logs = [], []
    for i, user in enumerate(users):
        # Wednesday noon UTC is inside the same local week in every zone used here.
        at = datetime.combine(week_start + timedelta(days=2), datetime.min.time(), tzinfo=UTC) + timedelta(hours=12)
        rows.append(checkin(user, at, rng.uniform(1, 7), rng.uniform(1, 7), instr=instr, save=False))
        if i % 10 == 0:
            logs.append(reglog(user, at, before=7, after=3, strategies=["worry"], save=False))
    CheckIn.objects.bulk_create(rows, batch_size=2000)
    RegulationLog.objects.bulk_create(logs, batch_size=2000)
    return users


def run_job_counting_queries(*, now, chunk):
    with CaptureQueriesContext(connection) as ctx:
        processed = summaries_due_job(now=now, chunk=chunk)
    return processed, len(ctx.captured_queries)


# Per chunk: claim, check-in GROUP BY, regulation rows, stale delete, upsert, advance, savepoint pair;
# scheduling: select + update + savepoint pair; plus one empty claim at the end of each loop.
PER_CHUNK = 10


@pytest.mark.parametrize("n_users", [2_000, 10_000])
def test_summary_job_queries_grow_with_chunks_not_users(n_users):
    week = date(2026, 3, 2)
    make_population(n_users, week_start=week)
    chunk = 1000
    chunks = math.ceil(n_users / chunk)

    _, schedule_queries = run_job_counting_queries(now=utc(2026, 3, 4, 12), chunk=chunk)
    assert schedule_queries <= PER_CHUNK * (chunks + 1)
    assert WeeklySummary.objects.count() == 0  # nobody's week has ended yet

    processed, queries = run_job_counting_queries(now=utc(2026, 3, 10), chunk=chunk)
    assert processed == n_users
    assert queries <= PER_CHUNK * (chunks + 1), queries
    assert queries < n_users / 50
    assert WeeklySummary.objects.filter(week_start=week).count() == n_users
    assert WeeklySummary.objects.filter(payload__regulation__episodes=1).count() == n_users // 10
    assert not User.objects.filter(next_summary_at__lte=utc(2026, 3, 10)).exists()


def test_rerunning_a_week_changes_nothing_and_keeps_notified_at():
    users = make_population(40, week_start=date(2026, 3, 2))
    summaries_due_job(now=utc(2026, 3, 4))  # schedule
    due = dict(User.objects.values_list("id", "next_summary_at"))
    summaries_due_job(now=utc(2026, 3, 10))
    WeeklySummary.objects.filter(user=users[0]).update(notified_at=utc(2026, 3, 10, 1))
    before = snapshot()
    assert len(before) == 40

    # Claim the same week again (as a second scheduler or a replay would), later.
    for user_id, at in due.items():
        User.objects.filter(id=user_id).update(next_summary_at=at)
    assert summaries_due_job(now=utc(2026, 3, 12)) == 40
    assert snapshot() == before

    call_command(
        "recompute_summaries", "--from", "2026-03-01", "--to", "2026-03-08", "--chunk", "7", stderr=io.StringIO()
    )
    assert snapshot() == before


def test_recompute_updates_changed_weeks_keeps_notified_and_drops_emptied_ones():
    user, other = UserFactory(timezone="Asia/Kolkata"), UserFactory(timezone="Pacific/Auckland")
    checkin(user, utc(2026, 1, 7, 6), 4.0, 4.0)
    checkin(other, utc(2026, 1, 14, 6), 2.0, 6.0)
    err = io.StringIO()
    call_command("recompute_summaries", "--from", "2026-01-05", "--to", "2026-01-18", stderr=err, stdout=io.StringIO())
    assert "users" in err.getvalue() and "100.0%" in err.getvalue()
    assert WeeklySummary.objects.count() == 2
    summary = WeeklySummary.objects.get(user=user)
    WeeklySummary.objects.filter(pk=summary.pk).update(notified_at=utc(2026, 1, 12))

    checkin(user, utc(2026, 1, 8, 6), 6.0, 4.0)
    with time_machine.travel(utc(2026, 2, 1), tick=False):
        call_command("recompute_summaries", "--from", "2026-01-05", "--to", "2026-01-11", stderr=io.StringIO())
    summary.refresh_from_db()
    assert summary.payload["checkins"] == 2 and summary.payload["anxiety"] == 5.0
    assert summary.computed_at == utc(2026, 2, 1)
    assert summary.notified_at == utc(2026, 1, 12)

    CheckIn.objects.filter(user=user).update(deleted_at=utc(2026, 2, 2))
    call_command("recompute_summaries", "--from", "2026-01-05", "--to", "2026-01-11", stderr=io.StringIO())
    assert not WeeklySummary.objects.filter(user=user).exists()
    assert WeeklySummary.objects.filter(user=other).exists()  # outside the range: untouched


def test_recompute_command_rejects_bad_arguments():
    with pytest.raises(CommandError):
        call_command("recompute_summaries", "--from", "2026-13-01", "--to", "2026-01-02")
    with pytest.raises(CommandError):
        call_command("recompute_summaries", "--from", "2026-02-01", "--to", "2026-01-02")
    with pytest.raises(CommandError):
        call_command("recompute_summaries", "--from", "2026-01-01", "--to", "2026-01-02", "--chunk", "0")


def test_a_user_deleted_mid_run_is_skipped(monkeypatch):
    make_population(30, week_start=date(2026, 3, 2))
    summaries_due_job(now=utc(2026, 3, 4))
    original = summaries.aggregate_checkins
    deleted = []

    def delete_then_aggregate(targets, ranges=None):
        if not deleted:  # one claimed user disappears between the claim and the writes
            deleted.append(targets[len(targets) // 2].user_id)
            User.objects.filter(pk=deleted[0]).delete()
        return original(targets, ranges)

    monkeypatch.setattr(summaries, "aggregate_checkins", delete_then_aggregate)
    assert summaries_due_job(now=utc(2026, 3, 10), chunk=8) == 30
    assert not User.objects.filter(pk=deleted[0]).exists()
    assert not WeeklySummary.objects.filter(user_id=deleted[0]).exists()
    assert WeeklySummary.objects.count() == 29


def test_a_user_behind_by_several_weeks_gets_every_missed_week():
    user = UserFactory(timezone="Europe/Berlin")
    for week in range(3):
        checkin(user, utc(2026, 1, 7, 12) + timedelta(weeks=week), 3.0 + week, 3.0)
    user.next_summary_at = utc(2026, 1, 11, 23)  # Mon 12 Jan 00:00 CET
    user.save()
    assert summaries_due_job(now=utc(2026, 1, 27)) == 3
    assert list(WeeklySummary.objects.order_by("week_start").values_list("payload__anxiety", flat=True)) == [3, 4, 5]
    user.refresh_from_db()
    assert user.next_summary_at == utc(2026, 2, 1, 23)


def test_changing_timezone_reschedules_the_summary(client_api, client_user):
    summaries_due_job(now=utc(2026, 3, 4))
    client_user.refresh_from_db()
    assert client_user.next_summary_at == utc(2026, 3, 8, 23)  # Berlin, Mon 9 Mar 00:00 CET
    assert client_api.patch("/api/v1/me", {"timezone": "Asia/Kolkata"}).status_code == 200
    client_user.refresh_from_db()
    assert client_user.next_summary_at is None
    summaries_due_job(now=utc(2026, 3, 4))
    client_user.refresh_from_db()
    assert client_user.next_summary_at == utc(2026, 3, 8, 18, 30)


# --- API ------------------------------------------------------------------------------------------


def make_summaries(user, n: int):
    WeeklySummary.objects.bulk_create(
        [
            WeeklySummary(
                user=user,
                week_start=date(2025, 1, 6) + timedelta(weeks=i),
                iso_year=(date(2025, 1, 6) + timedelta(weeks=i)).isocalendar()[0],
                iso_week=(date(2025, 1, 6) + timedelta(weeks=i)).isocalendar()[1],
                payload={"checkins": i},
                computed_at=utc(2026, 1, 1),
            )
            for i in range(n)
        ]
    )


@pytest.mark.parametrize("n", [3, 60])
def test_summary_list_is_newest_first_with_constant_queries(
    n, client_user, other_client, django_assert_max_num_queries
):
    make_summaries(client_user, n)
    make_summaries(other_client, 2)
    api = APIClient()
    api.force_authenticate(client_user)
    with django_assert_max_num_queries(1):
        body = api.get("/api/v1/summaries/", {"page_size": 200}).json()
    assert len(body["results"]) == n
    assert body["results"][0]["week_start"] > body["results"][-1]["week_start"]
    assert body["results"][0]["week"] == "{}-W{:02d}".format(
        *date.fromisoformat(body["results"][0]["week_start"]).isocalendar()[:2]
    )


def test_summary_list_filters_and_paginates(client_api, client_user):
    make_summaries(client_user, 10)
    body = client_api.get("/api/v1/summaries/", {"since": "2025-02-01", "page_size": 2}).json()
    assert [r["week_start"] for r in body["results"]] == ["2025-03-10", "2025-03-03"]
    seen = list(body["results"])
    while body["next"]:
        body = client_api.get(body["next"]).json()
        seen += body["results"]
    assert len(seen) == 6


@pytest.mark.parametrize("n", [3, 60])
def test_summary_detail(n, client_user, other_client, django_assert_max_num_queries):
    make_summaries(client_user, n)
    make_summaries(other_client, 3)
    api = APIClient()
    api.force_authenticate(client_user)
    with django_assert_max_num_queries(1):
        response = api.get("/api/v1/summaries/2025-W03/")
    assert response.status_code == 200
    assert response.json()["week_start"] == "2025-01-13" and response.json()["payload"] == {"checkins": 1}


def test_summary_detail_errors(client_api, client_user, other_client):
    make_summaries(other_client, 3)
    assert_error(client_api.get("/api/v1/summaries/2025-W02/"), 404, "not_found")  # someone else's
    make_summaries(client_user, 1)
    assert_error(client_api.get("/api/v1/summaries/2025-W09/"), 404, "not_found")
    assert client_api.get("/api/v1/summaries/2026-W53/").status_code == 404  # 2026 has a week 53
    assert_error(client_api.get("/api/v1/summaries/2025-W2/"), 400, "validation_error", fields=["week"])
    # Well-formed but naming no week (2025 has 52): no such summary, as the schema's pattern allows it.
    assert_error(client_api.get("/api/v1/summaries/2025-W53/"), 404, "not_found")
    assert_error(client_api.get("/api/v1/summaries/last-week/"), 400, "validation_error", fields=["week"])


def test_summaries_need_a_token(anon_api):
    assert_error(anon_api.get("/api/v1/summaries/"), 401)
    assert_error(anon_api.get("/api/v1/summaries/2025-W02/"), 401)


# --- One instrument per summary (DESIGN §5: scores of different instruments are never averaged) -------
# Check-ins are made through the check-in service with the shipped instrument files (ECR-S / ECR-RS
# wording loaded the way a clinic does), and the summaries come from the real job.


@pytest.fixture
def mixed_user(tmp_path):
    load_licensed_wording(tmp_path, codes=("ecr-s", "ecr-rs"))
    return UserFactory(timezone="UTC")


def run_job_for_weeks(user, first: date, n: int) -> dict[date, dict]:
    """Let the summaries job write `n` local weeks from `first` (the user is behind by that many)."""
    User.objects.filter(pk=user.pk).update(next_summary_at=summaries.next_summary_at_for(tz="UTC", now=utc_at(first)))
    assert summaries_due_job(now=utc_at(first + WEEK * n)) == n
    return {s.week_start: s.payload for s in WeeklySummary.objects.filter(user=user)}


def utc_at(day: date, hours: int = 0) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=hours)


def d(anxiety: float, avoidance: float) -> float:
    """Distance to secure of one check-in (cut 4): hypot of what lies above the cut."""
    return math.hypot(max(0.0, avoidance - 4), max(0.0, anxiety - 4))


def test_a_mixed_week_reports_only_its_primary_instrument_and_compares_within_it(mixed_user):
    user = mixed_user
    this = local_week_start(timezone.now(), "UTC") - WEEK  # the last finished week
    w0, w1, w2, w3 = this - WEEK * 3, this - WEEK * 2, this - WEEK, this

    def add(code, week, day, anxiety, avoidance):
        checkin_with(
            user,
            code,
            occurred_at=utc_at(week + timedelta(days=day), 12),
            responses=dimension_answers(code, anxiety, avoidance),
        )

    add("wmc", w0, 0, 4, 4)  # W0: wmc only
    add("ecr-s", w1, 0, 6, 2)  # W1: ecr-s twice, wmc once -> ecr-s
    add("ecr-s", w1, 1, 4, 2)
    add("wmc", w1, 2, 3, 3)
    add("wmc", w2, 0, 2, 6)  # W2: wmc twice, ecr-s once -> wmc
    add("wmc", w2, 1, 4, 6)
    add("ecr-s", w2, 2, 7, 7)
    add("wmc", w3, 0, 5, 5)  # W3: one each -> tie -> wmc, the default instrument
    add("ecr-s", w3, 1, 1, 1)

    payloads = run_job_for_weeks(user, w0, 4)
    p1, p2, p3 = payloads[w1], payloads[w2], payloads[w3]
    assert {p["schema"] for p in payloads.values()} == {4}

    # W1: ecr-s means (6+4)/2, (2+2)/2; the wmc check-in is counted, not averaged in.
    assert (p1["instrument"], p1["checkins"], p1["anxiety"], p1["avoidance"]) == ("ecr-s", 3, 5.0, 2.0)
    assert p1["distance_to_secure"] == pytest.approx((d(6, 2) + d(4, 2)) / 2) == 1.0
    assert p1["quadrant"] == "preoccupied"
    # W0 had check-ins, but no ecr-s: nothing to compare ecr-s with.
    assert (p1["week_over_week"], p1["distance_change"], p1["tendency"]) == ("no_comparison", None, None)

    # W2: wmc means (2+4)/2 = 3, (6+6)/2 = 6 (all three mixed would give 13/3 and 19/3).
    assert (p2["instrument"], p2["checkins"], p2["anxiety"], p2["avoidance"]) == ("wmc", 3, 3.0, 6.0)
    assert p2["distance_to_secure"] == 2.0 and p2["quadrant"] == "dismissing"
    # Compared with W1's wmc check-in (3, 3: distance 0), not with W1's ecr-s figures (distance 1).
    assert (p2["week_over_week"], p2["distance_change"]) == ("further_from_secure", 2.0)
    assert p2["tendency"] is None  # wmc was secure in W1

    # W3: a tie goes to the default instrument (wmc); wmc's own figures against W2's wmc.
    assert (p3["instrument"], p3["checkins"], p3["anxiety"], p3["avoidance"]) == ("wmc", 2, 5.0, 5.0)
    assert p3["distance_to_secure"] == round(math.sqrt(2), 4)
    assert p3["week_over_week"] == "closer_to_secure"
    assert p3["distance_change"] == pytest.approx(round(math.sqrt(2) - 2.0, 4))

    # Every reader takes the new key: the strict API serializer, the export and the dashboard rows.
    api = APIClient()
    api.force_authenticate(user)
    listed = {r["week_start"]: r["payload"] for r in api.get("/api/v1/summaries/").json()["results"]}
    assert listed[w2.isoformat()]["instrument"] == "wmc" and listed[w1.isoformat()]["instrument"] == "ecr-s"
    summary = WeeklySummary.objects.get(user=user, week_start=w2)
    assert summary_row(summary)["instrument"] == "wmc"
    assert "Figures from the wmc check-ins (the week's most used instrument)." in dashboard_summary_lines(summary)


def test_ecr_rs_check_ins_missing_a_target_are_counted_but_not_averaged(mixed_user):
    user = mixed_user
    week = local_week_start(timezone.now(), "UTC") - WEEK
    targets = ("mother", "father", "partner", "best_friend")
    full = [a for t in targets for a in dimension_answers("ecr-rs", 5, 3, target=t)]
    checkin_with(user, "ecr-rs", occurred_at=utc_at(week, 10), responses=full)
    partial = checkin_with(
        user, "ecr-rs", occurred_at=utc_at(week, 11), responses=dimension_answers("ecr-rs", 1, 7, target="partner")
    )
    assert partial.extra_scores["partial"] is True
    checkin_with(user, "wmc", occurred_at=utc_at(week, 12), responses=dimension_answers("wmc", 2, 2))

    payload = run_job_for_weeks(user, week, 1)[week]
    # ecr-rs: one complete check-in against one wmc -> a tie (the partial one does not count): wmc.
    assert (payload["instrument"], payload["checkins"], payload["anxiety"]) == ("wmc", 3, 2.0)

    checkin_with(user, "ecr-rs", occurred_at=utc_at(week, 13), responses=full)
    summaries.recompute_summaries(start=week, end=week, now=timezone.now())
    payload = WeeklySummary.objects.get(user=user, week_start=week).payload
    # Two complete ecr-rs check-ins (5, 3) now lead; the partial one (1, 7) stays out of the means.
    assert (payload["instrument"], payload["checkins"], payload["anxiety"], payload["avoidance"]) == (
        "ecr-rs",
        4,
        5.0,
        3.0,
    )
