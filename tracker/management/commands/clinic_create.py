"""Open a clinic and appoint its first admin (staff only: clinic admins verify therapists, so who
may become one is decided here, never by self-registration)."""

from django.core.management.base import BaseCommand
from django.db import transaction

from tracker.clinics.services import clinic_create
from tracker.models import User


class Command(BaseCommand):
    help = "Create a clinic and make ADMIN_EMAIL its admin (a new clinic-admin account when none exists)."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--admin-email", required=True)

    @transaction.atomic
    def handle(self, *args, name, admin_email, **options):
        email = User.objects.normalize_email(admin_email).lower()
        admin = User.objects.filter(email=email).first()
        if admin is None:
            admin = User.objects.create_user(email=email, password=None, role=User.Role.CLINIC_ADMIN)
            self.stdout.write(f"created {email}: set a password with `manage.py changepassword {email}`")
        clinic = clinic_create(name=name, admin=admin)
        self.stdout.write(f"clinic {clinic.id} ({clinic.name}), admin {email}")
