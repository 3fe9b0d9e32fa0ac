from django.apps import AppConfig
from django.db.models.signals import post_migrate


class TrackerConfig(AppConfig):
    name = "tracker"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from tracker.entries.services.instruments import shipped_instruments_ensure

        # Every migrated database (including each test database) offers the shipped instruments.
        post_migrate.connect(shipped_instruments_ensure, sender=self, dispatch_uid="tracker-shipped-instruments")
