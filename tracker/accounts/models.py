import uuid

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.utils import timezone as django_timezone
from knox.models import AbstractAuthToken

from tracker.common.timezones import validate_timezone


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields) -> "User":
        if not email:
            raise ValueError("Users need an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> "User":
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """An app user: a client who tracks, or a therapist who sees what clients share."""

    class Role(models.TextChoices):
        CLIENT = "client", "Client"
        THERAPIST = "therapist", "Therapist"
        # Runs a clinic (tracker.clinics): invites therapists, verifies licences. Sees no client data.
        CLINIC_ADMIN = "clinic_admin", "Clinic admin"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Always stored lower-cased (see UserManager / user_register), so plain uniqueness is enough.
    email = models.EmailField(max_length=254, unique=True)
    display_name = models.CharField(max_length=80, blank=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.CLIENT)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    locale = models.CharField(max_length=16, default="en")
    # ISO 3166-1 alpha-2 (e.g. `US`); blank: the region of `locale` is used (crisis resources).
    country = models.CharField(max_length=2, blank=True, default="")
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=django_timezone.now)
    # When the user's current local week ends (UTC): the scheduler writes their weekly summary then.
    # NULL = not scheduled yet (new user, or timezone just changed); the summary job fills it in.
    next_summary_at = models.DateTimeField(null=True, blank=True, db_index=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=["client", "therapist", "clinic_admin"]), name="user_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"User {self.id}"

    @property
    def is_therapist(self) -> bool:
        return self.role == self.Role.THERAPIST

    @property
    def is_verified_therapist(self) -> bool:
        """A therapist with a verified, unexpired licence in a clinic that has not suspended them.

        Derived on every call (one query), never stored: an expiring licence or a suspension applies
        to the very next request. (Not named `is_verified`: django-otp's middleware puts a method of
        that name on `request.user`.)"""
        if self.role != self.Role.THERAPIST or not self.is_active:
            return False
        from django.utils import timezone

        from tracker.clinics.models import verified_membership_q

        return self.clinic_memberships.filter(verified_membership_q(timezone.now())).exists()

    @property
    def needs_second_factor(self) -> bool:
        """Therapists, clinic admins and staff sign in with a second factor (TOTP or a recovery code)."""
        return self.role != self.Role.CLIENT or self.is_staff


class DeviceToken(AbstractAuthToken):
    """A knox token (stored as a digest) for one device, so each phone can be logged out alone."""

    device_name = models.CharField(max_length=80, blank=True)
