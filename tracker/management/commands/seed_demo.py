from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from tracker.models import User

DEMO_USERS = [
    {
        "email": "client@demo.securebase.local",
        "password": "demo-client-pass-1",
        "role": "client",
        "display_name": "Demo Client",
        "timezone": "Europe/Berlin",
    },
    {
        "email": "therapist@demo.securebase.local",
        "password": "demo-therapist-pass-1",
        "role": "therapist",
        "display_name": "Demo Therapist",
        "timezone": "Europe/Berlin",
        "is_verified": True,
    },
]


class Command(BaseCommand):
    help = "Create (or reset the passwords of) a demo client and a verified demo therapist. Never in production."

    @transaction.atomic
    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("Demo accounts with known passwords are never created in production.")
        for spec in DEMO_USERS:
            spec = dict(spec)
            password = spec.pop("password")
            email = spec.pop("email")
            user, _ = User.objects.update_or_create(email=email, defaults=spec)
            user.set_password(password)
            user.save(update_fields=["password"])
            self.stdout.write(f"demo {user.role}: {email} / {password}")
