"""A real `celery -A config worker` subprocess against real Redis and PostgreSQL.

1. A due nudge reaches the inbox through the beat task, run by the worker.
2. The worker's pool process is SIGKILLed in the middle of a push (the fake FCM server hangs);
   `acks_late` + `reject_on_worker_lost` make the broker redeliver the task, a fresh pool process runs
   the tick again, and still exactly one delivery, one inbox item and one push request exist.

The worker talks to pytest-django's test database (its name is passed through DATABASE_URL), so these
tests use `transaction=True`: the rows must be committed for another process to see them."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from notifications.jobs import dispatch_job
from notifications.models import Delivery, Dispatch, InboxItem, ReminderSchedule
from notifications.services.devices import device_register
from notifications.tasks import scheduler_tick
from tests.factories import UserFactory
from tests.notifications.factories import make_schedule

REPO = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.integration,
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.skipif(
        not (os.getenv("REDIS_URL") and os.getenv("DATABASE_URL")),
        reason="needs a real Redis (REDIS_URL) and PostgreSQL (DATABASE_URL); the SQLite run has neither",
    ),
    # available_apps makes the teardown flush TRUNCATE … CASCADE: knox's own (swapped-out) token table
    # still references tracker_user, and a plain TRUNCATE refuses.
    pytest.mark.django_db(transaction=True, available_apps=settings.INSTALLED_APPS),
]


def wait_for(predicate, *, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def worker_database_url() -> str:
    settings = connection.settings_dict
    user = settings["USER"] or "postgres"
    password = f":{settings['PASSWORD']}" if settings["PASSWORD"] else ""
    return (
        f"postgres://{user}{password}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/{settings['NAME']}"
    )


class Worker:
    def __init__(self, process: subprocess.Popen, log: Path, queue: str):
        self.process = process
        self.log = log
        self.queue = queue

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def pool_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []

    def succeeded(self) -> int:
        return len(re.findall(r"Task notifications\.tasks\.scheduler_tick\[[^\]]+\] succeeded", self.output()))


@contextmanager
def celery_worker(tmp_path: Path, extra_env: dict[str, str] | None = None):
    queue = f"test-{uuid.uuid4().hex[:12]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FCM_")}
    env.update(
        DATABASE_URL=worker_database_url(),
        DJANGO_SETTINGS_MODULE="config.settings",
        PYTHONUNBUFFERED="1",
        **(extra_env or {}),
    )
    log = tmp_path / f"{queue}.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "-Q",
                queue,
                "-n",
                f"{queue}@%h",
                "--pool",
                "prefork",
                "--concurrency",
                "1",
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    worker = Worker(process, log, queue)
    try:
        wait_for(lambda: "ready." in worker.output() or process.poll() is not None, timeout=60, what="worker start")
        assert process.poll() is None, worker.output()
        yield worker
    finally:
        # Stop the whole process group (main process and pool), politely first, then for sure.
        for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            if process.poll() is not None:
                break
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                break
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                continue
        if process.poll() is None:  # pragma: no cover - SIGKILL cannot be ignored
            raise RuntimeError("celery worker did not stop")
        try:
            os.killpg(process.pid, signal.SIGKILL)  # any orphaned pool process
        except ProcessLookupError:
            pass


def due_user(**schedule):
    user = UserFactory(timezone="Europe/Berlin")
    make_schedule(user, times=["09:00"], now=timezone.now() - timedelta(days=1), **schedule)
    ReminderSchedule.objects.filter(user=user).update(next_due_at=timezone.now() - timedelta(minutes=1))
    return user


def test_a_real_worker_delivers_a_due_nudge_to_the_inbox(tmp_path):
    user = due_user(channels=["inbox"])
    with celery_worker(tmp_path) as worker:
        scheduler_tick.apply_async(queue=worker.queue)
        item = wait_for(lambda: InboxItem.objects.filter(user=user).first(), timeout=60, what="the inbox item")
        wait_for(worker.succeeded, timeout=30, what="the task to finish")
    assert item.kind == "nudge" and "check-in" in item.body.lower()
    assert Delivery.objects.filter(user=user, status="sent").count() == 1
    assert ReminderSchedule.objects.get(user=user).next_due_at > timezone.now()


def test_a_worker_killed_mid_send_is_redelivered_and_still_sends_exactly_once(tmp_path, fake_fcm):
    user = due_user(channels=["inbox", "push"])
    device_register(user=user, platform="android", token="hang-device")
    env = fake_fcm.settings_env(timeout=60)  # the push hangs far longer than the test waits
    with celery_worker(tmp_path, env) as worker:
        scheduler_tick.apply_async(queue=worker.queue)
        assert fake_fcm.hanging.wait(60), worker.output()
        [pool_pid] = worker.pool_pids()
        os.kill(pool_pid, signal.SIGKILL)  # the worker dies mid-send, before acknowledging the task

        # The broker hands the task back; a fresh pool process runs the whole tick again.
        wait_for(worker.succeeded, timeout=60, what="the redelivered task")
        assert "WorkerLostError" in worker.output() or "SIGKILL" in worker.output()
        assert worker.pool_pids() and worker.pool_pids() != [pool_pid]

        # Beat firing again (e.g. restarted after an outage) changes nothing either.
        scheduler_tick.apply_async(queue=worker.queue)
        wait_for(lambda: worker.succeeded() >= 2, timeout=60, what="the second tick")
    fake_fcm.release.set()

    assert Delivery.objects.filter(user=user).count() == 1
    assert InboxItem.objects.filter(user=user).count() == 1
    assert len(fake_fcm.messages) == 1  # the push was attempted once and never repeated
    dispatch = Dispatch.objects.get(delivery__user=user)
    assert dispatch.status == "sending" and dispatch.attempts == 1
    # After the lease the attempt is recorded as unknown (it may have left): still not resent.
    dispatch_job(now=timezone.now() + timedelta(hours=1))
    dispatch.refresh_from_db()
    assert dispatch.status == "unknown"
    assert len(fake_fcm.messages) == 1
