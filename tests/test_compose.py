"""docker-compose.yml is checked by parsing it (no Docker engine here): every service's command
must refer to something that exists in this project."""

import importlib
from pathlib import Path

import yaml
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parent.parent


def load_compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_the_five_services_on_one_set_of_settings():
    services = load_compose()["services"]
    assert {"postgres", "redis", "web", "worker", "beat"} <= set(services)
    app_services = [services[name] for name in ("web", "worker", "beat", "migrate")]
    environments = [tuple(sorted(service["environment"].items())) for service in app_services]
    assert len(set(environments)) == 1, "web, worker, beat and migrate must share one environment"
    env = app_services[0]["environment"]
    assert env["DATABASE_URL"].startswith("postgres://") and "@postgres:" in env["DATABASE_URL"]
    assert env["REDIS_URL"].startswith("redis://redis:")
    assert env["DJANGO_ENV"] == "production"
    assert (ROOT / app_services[0]["build"] / "Dockerfile").exists()


def test_every_command_refers_to_something_that_exists():
    services = load_compose()["services"]
    for name in ("web", "worker", "beat", "migrate"):
        command = services[name]["command"]
        program = command[0]
        if program == "gunicorn":
            module, attribute = command[1].split(":")
            assert hasattr(importlib.import_module(module), attribute), command
        elif program == "celery":
            app_module = command[command.index("-A") + 1]
            app = importlib.import_module(app_module).celery_app
            assert command[command.index("-A") + 2] in {"worker", "beat"}
            assert app.main == "securebase"
        elif program == "python":
            assert command[1] == "manage.py" and (ROOT / "manage.py").exists()
            assert command[2] in get_commands(), command
        else:
            raise AssertionError(f"{name}: unknown program {program}")


def test_beat_schedule_points_at_a_registered_task():
    from config.celery import app

    app.loader.import_default_modules()
    for entry in app.conf.beat_schedule.values():
        assert entry["task"] in app.tasks, entry["task"]


def test_app_containers_share_metrics_through_a_fresh_tmpfs():
    """Multiprocess metrics need a folder that starts empty at every container start."""
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    for name in ("web", "worker", "beat", "migrate"):
        service = services[name]
        folder = service["environment"]["PROMETHEUS_MULTIPROC_DIR"]
        assert folder in service.get("tmpfs", []), name
