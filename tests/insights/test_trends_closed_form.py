"""The closed-form statistics (issue 14) against the scipy implementation they replaced.

`trends.theil_sen` and `trends.mann_kendall` used `scipy.stats.theilslopes` and `scipy.stats.norm.sf`;
those two functions are kept here, verbatim, as the old implementation. Whole trend reports built with
the old and the new functions, over random multi-instrument histories scored with the shipped
instruments' metadata, must be identical (every rounded number, label and verdict). A subprocess shows
that serving a trends request imports neither scipy nor numpy (the web worker's memory target)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from tracker.entries.vocabularies import STRATEGY_FAMILY
from tracker.insights import trends

INSTRUMENTS = Path(trends.__file__).resolve().parent.parent / "entries" / "instruments"
ROOT = Path(__file__).resolve().parents[2]


def old_theil_sen(x, y, confidence=0.95) -> dict:
    n = len(y)
    if n < 2:
        return {"slope": None, "intercept": None, "low": None, "high": None, "n": n}
    result = stats.theilslopes(np.asarray(y, dtype=float), np.asarray(x, dtype=float), alpha=confidence)
    return {
        "slope": float(result.slope),
        "intercept": float(result.intercept),
        "low": float(result.low_slope),
        "high": float(result.high_slope),
        "n": n,
    }


def old_mann_kendall(y, *, min_n=6, alpha=0.05, continuity_correction=True) -> dict:
    n = len(y)
    s = trends.mann_kendall_s(y)
    result = {"n": n, "s": s, "z": None, "p": None, "trend": None, "method": "descriptive"}
    if n < min_n:
        return result
    variance = trends.mann_kendall_variance(y)
    if variance <= 0:
        z = 0.0
    else:
        shift = (1 if s > 0 else -1 if s < 0 else 0) if continuity_correction else 0
        z = (s - shift) / math.sqrt(variance)
    p = float(2 * stats.norm.sf(abs(z)))
    trend = "no_trend"
    if p < alpha:
        trend = "increasing" if z > 0 else "decreasing"
    result.update(z=float(z), p=p, trend=trend, method="mann_kendall")
    return result


def shipped_metadata() -> dict[str, dict]:
    out = {}
    for path in sorted(INSTRUMENTS.glob("*.json")):
        definition = json.loads(path.read_text())
        out[f"{definition['code']}:{definition['version']}"] = definition.get("metadata")
    return out


def random_history(rng, keys: list[str], current: date) -> list[trends.WeeklyPoint]:
    """Gappy weekly points of one or two instruments, values sometimes tied (rounded), with a drift."""
    points = []
    for key in rng.choice(keys, size=int(rng.integers(1, 3)), replace=False):
        weeks = int(rng.integers(1, 40))
        drift = rng.normal() * 0.15
        level = rng.uniform(2, 6)
        rounding = int(rng.choice([1, 2, 4]))
        for back in sorted(rng.choice(np.arange(0, 45), size=weeks, replace=False), reverse=True):
            anxiety = float(np.clip(round(level + rng.normal(0, 0.8) - drift * back, rounding), 1, 7))
            avoidance = float(np.clip(round(level + rng.normal(0, 0.8) - drift * back, rounding), 1, 7))
            points.append(
                trends.WeeklyPoint(
                    week_start=current - timedelta(weeks=int(back)),
                    checkins=int(rng.integers(1, 8)),
                    anxiety=anxiety,
                    avoidance=avoidance,
                    distance_to_secure=math.hypot(max(0, anxiety - 4), max(0, avoidance - 4)),
                    instruments={str(key): 1},
                )
            )
    return sorted(points, key=lambda p: p.week_start)


def report(history, metadata, weeks, current):
    window = [current - timedelta(weeks=weeks - 1 - i) for i in range(weeks)]
    episodes = [trends.Episode(7, 3, ["breathing"], True, 20), trends.Episode(6, 5, ["rumination"], False, 45)]
    return trends.trend_report(
        history=history, window=window, episodes=episodes, families=STRATEGY_FAMILY, instrument_metadata=metadata
    )


def test_trend_reports_equal_the_scipy_implementation(monkeypatch):
    rng = np.random.default_rng(20261125)
    metadata = shipped_metadata()
    keys = sorted(metadata)
    current = date(2026, 11, 23)
    reports = 0
    directions = set()
    for _ in range(300):
        history = random_history(rng, keys, current)
        weeks = int(rng.choice([4, 12, 13, 26, 52]))
        new = report(history, metadata, weeks, current)
        with monkeypatch.context() as patched:
            patched.setattr(trends, "theil_sen", old_theil_sen)
            patched.setattr(trends, "mann_kendall", old_mann_kendall)
            old = report(history, metadata, weeks, current)
        assert new == old
        reports += 1
        directions.add(new["direction"]["value"])
        assert new["statistics"]["slope"]["confidence_interval"]["distance_to_secure"] is not None
    # The comparison covered every verdict, not only "insufficient_data".
    assert directions == {"improving", "stable", "worsening", "insufficient_data"}
    assert reports == 300


@pytest.mark.parametrize("confidence", [0.8, 0.9, 0.95, 0.99, 0.05])
def test_theil_sen_interval_matches_scipy_at_other_confidences(confidence):
    rng = np.random.default_rng(7)
    for _ in range(100):
        n = int(rng.integers(2, 13))
        x = np.sort(rng.choice(np.arange(30), size=n, replace=False)).astype(float)
        y = np.round(rng.normal(4, 1, n), 1)
        ours = trends.theil_sen(x.tolist(), y.tolist(), confidence=confidence)
        theirs = stats.theilslopes(y, x, alpha=confidence)
        assert (ours["slope"], ours["intercept"]) == pytest.approx((theirs.slope, theirs.intercept), abs=1e-12)
        assert (ours["low"], ours["high"]) == pytest.approx((theirs.low_slope, theirs.high_slope), abs=1e-12)


def test_serving_trends_imports_neither_scipy_nor_numpy(tmp_path):
    """A fresh process (as a gunicorn worker) serves GET trends/ for a user with a year of check-ins
    and still has not imported scipy or numpy: the statistics are computed, their modules never loaded."""
    script = """
import os, sys, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from datetime import timedelta
from django.utils import timezone
from tests.insights.trend_data import checkin
from tests.factories import UserFactory
from rest_framework.test import APIClient
user = UserFactory(timezone="America/New_York")
now = timezone.now()
for week in range(40):
    for k in range(3):
        checkin(user, now - timedelta(weeks=week, hours=k * 20), 3 + (week % 5) * 0.5, 4.5 - (k % 2))
api = APIClient()
api.force_authenticate(user)
response = api.get("/api/v1/trends/?weeks=13")
assert response.status_code == 200, response.content
assert response.json()["statistics"]["slope"]["per_week"]["distance_to_secure"] is not None
print(sorted(m for m in ("scipy", "numpy") if m in sys.modules))
"""
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "HOME": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"
