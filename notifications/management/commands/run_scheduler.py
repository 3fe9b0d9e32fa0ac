import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from notifications.scheduler import run_tick


class Command(BaseCommand):
    help = "Run the scheduler tick in-process: once, or in a loop every SCHEDULER_TICK_SECONDS."

    def add_arguments(self, parser):
        mode = parser.add_mutually_exclusive_group(required=True)
        mode.add_argument("--once", action="store_true", help="run one tick and exit")
        mode.add_argument("--loop", action="store_true", help="tick until interrupted")
        parser.add_argument("--interval", type=float, default=settings.SCHEDULER_TICK_SECONDS)
        parser.add_argument("--max-ticks", type=int, default=0, help="with --loop: stop after this many")

    def handle(self, *args, once: bool, loop: bool, interval: float, max_ticks: int, **options):
        ticks = 0
        while True:
            result = run_tick()
            ticks += 1
            self.stdout.write(
                f"tick {result.started_at.isoformat()}: processed={result.processed} failed={result.failed}"
            )
            if once or (max_ticks and ticks >= max_ticks):
                break
            time.sleep(interval)
        if result.failed:
            raise CommandError(f"jobs failed: {', '.join(result.failed)}")
