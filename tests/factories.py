import factory
from django.utils import timezone

from tracker.models import User

DEFAULT_PASSWORD = "correct-horse-battery-9"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    display_name = factory.Faker("first_name")
    role = User.Role.CLIENT
    timezone = "Europe/Berlin"
    locale = "en"
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)

    @factory.post_generation
    def _save_password(obj, create, extracted, **kwargs):  # noqa: N805 - factory_boy passes the object
        if create:
            obj.save()


def _enrol_totp(user) -> None:
    from tracker.accounts.second_factor import demo_totp_device as confirmed_device
    from tracker.accounts.second_factor import new_hex_key, recovery_codes_replace

    confirmed_device(user=user, hex_key=new_hex_key())
    recovery_codes_replace(user=user)


class TherapistFactory(UserFactory):
    """A therapist as production makes them: verified through a clinic membership whose licence an
    admin checked (`is_verified=False`: a member whose licence is not verified; `suspended=True`:
    verified but suspended), with an enrolled authenticator (`mfa=False`: none yet)."""

    role = User.Role.THERAPIST

    @factory.post_generation
    def is_verified(obj, create, extracted, **kwargs):  # noqa: N805
        if not create:
            return
        from datetime import timedelta

        from tracker.models import Clinic, ClinicMembership

        verified = extracted is None or bool(extracted)
        clinic = Clinic.objects.create(name=f"Clinic of {obj.email}")
        now = timezone.now()
        ClinicMembership.objects.create(
            clinic=clinic,
            user=obj,
            role=ClinicMembership.Role.THERAPIST,
            licence_number="L-1",
            licence_jurisdiction="DE-BE",
            licence_expires_on=(now + timedelta(days=365)).date(),
            licence_verified_at=now if verified else None,
            suspended_at=now if kwargs.get("suspended") else None,
        )

    @factory.post_generation
    def mfa(obj, create, extracted, **kwargs):  # noqa: N805
        if create and (extracted is None or extracted):
            _enrol_totp(obj)


class ClinicAdminFactory(UserFactory):
    """A clinic admin (of a new clinic, `.clinic` afterwards) with an enrolled authenticator."""

    role = User.Role.CLINIC_ADMIN

    @factory.post_generation
    def clinic(obj, create, extracted, **kwargs):  # noqa: N805
        if not create:
            return
        from tracker.clinics.services import clinic_create

        obj.clinic = extracted or clinic_create(name=f"Clinic run by {obj.email}", admin=obj)
        if extracted is not None:
            from tracker.models import ClinicMembership

            ClinicMembership.objects.create(clinic=extracted, user=obj, role=ClinicMembership.Role.ADMIN)

    @factory.post_generation
    def mfa(obj, create, extracted, **kwargs):  # noqa: N805
        if create and (extracted is None or extracted):
            _enrol_totp(obj)
