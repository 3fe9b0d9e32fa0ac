"""Recompute weekly summaries for a date range, e.g. after an instrument's scoring was corrected.

    python manage.py recompute_summaries --from 2026-01-01 --to 2026-03-31 [--chunk 1000]

Every user's local ISO weeks overlapping the range are recomputed set-based, a chunk of users at a
time, with a progress bar on stderr. Unchanged weeks are left exactly as they were (including
`computed_at` and `notified_at`); weeks whose entries were all deleted lose their summary."""

from __future__ import annotations

import sys
import time
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from tracker.insights.services import recompute_summaries


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"not a date (YYYY-MM-DD): {value!r}") from None


class ProgressBar:
    """A plain text progress bar on a stream (a carriage return redraws it in a terminal)."""

    def __init__(self, stream, width: int = 30):
        self.stream, self.width, self.started = stream, width, time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        share = done / total if total else 1.0
        filled = int(self.width * share)
        elapsed = time.monotonic() - self.started
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(f"\r[{bar}] {done}/{total} users {share:6.1%} {elapsed:6.1f}s")
        self.stream.flush()


class Command(BaseCommand):
    help = "Recompute the weekly summaries of every user for the local weeks overlapping a date range."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="start", required=True, help="First day, YYYY-MM-DD.")
        parser.add_argument("--to", dest="end", required=True, help="Last day, YYYY-MM-DD (inclusive).")
        parser.add_argument("--chunk", type=int, default=None, help="Users per chunk (default 1000).")
        parser.add_argument("--no-progress", action="store_true", help="Do not draw the progress bar.")

    def handle(self, *args, start: str, end: str, chunk: int | None, no_progress: bool, **options):
        first, last = _date(start), _date(end)
        if last < first:
            raise CommandError("--to is before --from")
        if chunk is not None and chunk < 1:
            raise CommandError("--chunk must be at least 1")
        stream = getattr(self.stderr, "_out", sys.stderr)
        progress = None if no_progress else ProgressBar(stream)
        written = recompute_summaries(start=first, end=last, now=timezone.now(), chunk=chunk, progress=progress)
        if progress:
            stream.write("\n")
        self.stdout.write(f"recomputed {written} weekly summaries from {first} to {last}")
