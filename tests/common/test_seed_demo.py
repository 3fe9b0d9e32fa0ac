import pytest
from django.core.management import call_command

from tracker.insights.selectors import trend_for_user
from tracker.models import CheckIn, Clinic, RegulationLog, ShareGrant, User, WeeklySummary

pytestmark = pytest.mark.django_db


def test_seed_demo_is_repeatable_and_gives_the_therapist_a_client_to_see(capsys):
    call_command("seed_demo")
    call_command("seed_demo")  # `make run` runs it on every start
    output = capsys.readouterr().out
    assert "client@demo.securebase.local / demo-client-pass-1" in output

    client = User.objects.get(email="client@demo.securebase.local")
    therapist = User.objects.get(email="therapist@demo.securebase.local")
    assert therapist.is_verified_therapist and therapist.role == "therapist"
    # Verified through the demo clinic, with the known authenticator key contract/run.py relies on.
    membership = therapist.clinic_memberships.get()
    assert membership.clinic.name == "Demo Clinic" and membership.licence_verified_at is not None
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from tracker.management.commands.seed_demo import DEMO_TOTP_HEX_KEY

    assert TOTPDevice.objects.get(user=therapist, confirmed=True).key == DEMO_TOTP_HEX_KEY
    assert Clinic.objects.filter(name="Demo Clinic").count() == 1  # the rerun replaced it
    assert client.check_password("demo-client-pass-1")
    assert CheckIn.objects.filter(user=client).count() >= 18
    assert RegulationLog.objects.filter(user=client).count() == 10
    assert WeeklySummary.objects.filter(user=client).count() >= 9
    assert ShareGrant.objects.filter(client=client, therapist=therapist).count() == 1
    assert trend_for_user(user=client)["direction"]["value"] == "improving"


def test_seed_demo_refuses_production(settings):
    from django.core.management import CommandError

    settings.PRODUCTION = True
    with pytest.raises(CommandError):
        call_command("seed_demo")
    assert not User.objects.exists()


def test_seed_demo_resets_history_and_share_and_the_first_tick_announces_one_summary():
    from django.utils import timezone

    from notifications.jobs import weekly_summaries_job
    from notifications.models import InboxItem
    from tracker.sharing.services import grant_revoke

    call_command("seed_demo")
    client = User.objects.get(email="client@demo.securebase.local")
    checkins = CheckIn.objects.filter(user=client).count()
    # A demo session changes things: a check-in deleted, the share revoked, summaries unannounced.
    CheckIn.objects.filter(user=client).first().delete()
    grant_revoke(grant=ShareGrant.objects.get(client=client), by="client")
    WeeklySummary.objects.filter(user=client).update(notified_at=None)

    call_command("seed_demo")
    client = User.objects.get(email="client@demo.securebase.local")
    assert CheckIn.objects.filter(user=client).count() == checkins
    assert ShareGrant.objects.get(client=client).status == "active"
    # Completed weeks only, all but last week's already announced; the next summary at the week's end.
    assert WeeklySummary.objects.filter(user=client, notified_at__isnull=True).count() == 1
    assert client.next_summary_at > timezone.now()

    assert weekly_summaries_job(now=timezone.now()) == 1
    assert weekly_summaries_job(now=timezone.now()) == 0
    assert InboxItem.objects.filter(user=client).count() == 1
