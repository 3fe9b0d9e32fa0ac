from django.core.management.base import BaseCommand

from tracker.entries.services.encryption import notes_reencrypt


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored note with the newest key in FIELD_ENCRYPTION_KEYS. Run after prepending "
        "a new key; once it finishes, older keys can be removed from the setting."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, batch_size: int, **options):
        counts = notes_reencrypt(batch_size=batch_size)
        for table, count in counts.items():
            self.stdout.write(f"{table}: {count} notes re-encrypted")
