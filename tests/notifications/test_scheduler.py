import pytest
from django.core.management import CommandError, call_command

from notifications import tasks
from notifications.scheduler import run_tick

CALLS: list[str] = []


def job_ok(*, now) -> int:
    CALLS.append(f"ok@{now.isoformat()}")
    return 3


def job_broken(*, now) -> int:
    raise RuntimeError("boom")


@pytest.fixture(autouse=True)
def _reset_calls():
    CALLS.clear()


def test_tick_runs_every_configured_job_and_survives_a_failing_one(settings):
    settings.SCHEDULER_JOBS = [f"{__name__}.job_broken", f"{__name__}.job_ok"]
    result = run_tick()
    assert result.processed == {f"{__name__}.job_ok": 3}
    assert result.failed == [f"{__name__}.job_broken"]
    assert len(CALLS) == 1


def test_run_scheduler_once_runs_the_same_tick(settings, capsys):
    settings.SCHEDULER_JOBS = [f"{__name__}.job_ok"]
    call_command("run_scheduler", "--once")
    assert len(CALLS) == 1
    assert "processed=" in capsys.readouterr().out


def test_run_scheduler_loop_stops_after_max_ticks(settings):
    settings.SCHEDULER_JOBS = [f"{__name__}.job_ok"]
    call_command("run_scheduler", "--loop", "--interval", "0", "--max-ticks", "3")
    assert len(CALLS) == 3


def test_run_scheduler_reports_failure(settings):
    settings.SCHEDULER_JOBS = [f"{__name__}.job_broken"]
    with pytest.raises(CommandError):
        call_command("run_scheduler", "--once")


def test_run_scheduler_needs_a_mode():
    with pytest.raises(CommandError):
        call_command("run_scheduler")


def test_beat_task_calls_the_tick(settings):
    settings.SCHEDULER_JOBS = [f"{__name__}.job_ok"]
    assert tasks.scheduler_tick.apply().get() == {"processed": {f"{__name__}.job_ok": 3}, "failed": []}
    assert len(CALLS) == 1


def test_celery_app_is_json_only_and_acks_late():
    from config.celery import app

    assert app.conf.accept_content == ["json"]
    assert app.conf.task_serializer == "json"
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.task_time_limit and app.conf.task_soft_time_limit < app.conf.task_time_limit
