"""The weekly-summary job split across workers: two jobs claiming at once write every summary once."""

import os
import threading
import uuid
from datetime import UTC, datetime

import pytest
from django.conf import settings as django_settings
from django.db import connection

from tracker.insights.services import schedule_unscheduled_users, summaries_due_job
from tracker.models import CheckIn, Instrument, User, WeeklySummary


@pytest.mark.postgres
@pytest.mark.skipif(not os.getenv("DATABASE_URL"), reason="concurrent claims need PostgreSQL (DATABASE_URL)")
@pytest.mark.django_db(transaction=True, available_apps=django_settings.INSTALLED_APPS)
def test_two_summary_jobs_running_at_once_write_each_summary_once():
    users = User.objects.bulk_create(
        [User(email=f"weekly{i}@example.test", timezone="Europe/Berlin", password="!") for i in range(300)]
    )
    wmc = Instrument.objects.get(code="wmc", is_default=True)
    CheckIn.objects.bulk_create(
        CheckIn(
            id=uuid.uuid4(), user=u, occurred_at=datetime(2026, 3, 4, 9, tzinfo=UTC), utc_offset_minutes=60,
            instrument=wmc, responses=[], anxiety=3.0, avoidance=5.0, self_model=5.0, other_model=3.0,
            distance_to_secure=1.0, quadrant="dismissing", revision=1, change_seq=1,
        )
        for u in users
    )  # fmt: skip
    schedule_unscheduled_users(now=datetime(2026, 3, 4, 12, tzinfo=UTC))
    due = datetime(2026, 3, 9, 12, tzinfo=UTC)  # the week of 2 March has ended in Berlin
    start = threading.Barrier(2)
    counts: list[int] = []

    def job():
        try:
            start.wait()
            counts.append(summaries_due_job(now=due, chunk=20))  # small chunks, so the two jobs interleave
        finally:
            connection.close()

    threads = [threading.Thread(target=job) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(counts) == 2 and sum(counts) == len(users), counts  # no user was claimed by both jobs
    assert WeeklySummary.objects.count() == len(users)
    assert WeeklySummary.objects.values("user_id", "week_start").distinct().count() == len(users)
