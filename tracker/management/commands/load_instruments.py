from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tracker.entries.services.instruments import SHIPPED_DIR, DefinitionError, definitions_read, instruments_load


class Command(BaseCommand):
    help = (
        "Load or update instrument definitions (JSON files) idempotently. A changed scoring key must be a "
        "new version; wording and metadata of an existing version are updated in place."
    )

    def add_arguments(self, parser):
        parser.add_argument("--path", type=Path, default=SHIPPED_DIR, help="Folder of *.json definitions.")

    def handle(self, *args, path: Path, **options):
        if not path.is_dir():
            raise CommandError(f"{path} is not a folder")
        try:
            report = instruments_load(definitions=definitions_read(path))
        except DefinitionError as exc:
            raise CommandError(str(exc)) from None
        for status in ("created", "updated", "unchanged"):
            for label in getattr(report, status):
                self.stdout.write(f"{status}: {label}")
