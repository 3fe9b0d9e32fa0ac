"""Demo accounts for `make run`: a client with ten weeks of history who shares with a verified
therapist, so the API, the trends and the dashboard have something to show on a fresh machine.

Every run resets the demo: both demo accounts are erased (with everything that cascades: history,
summaries, shares, access log, inbox, tokens) and created again, so a re-run gives the same state.
Weekly summaries are written for the completed local weeks only (the scheduler writes the current
week when it ends, as for everybody). All but the latest are marked as announced, so the first
scheduler tick announces exactly one summary instead of flooding the inbox with ten."""

import random
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from tracker.accounts.second_factor import demo_totp_device, recovery_codes_replace
from tracker.clinics.services import clinic_create, licence_record, licence_verify
from tracker.common.weeks import WEEK, local_week_start
from tracker.entries.selectors.instruments import instrument_get
from tracker.entries.services.checkins import checkin_create
from tracker.entries.services.regulation import regulation_log_create
from tracker.insights.models import WeeklySummary
from tracker.insights.services import next_summary_at_for, recompute_summaries
from tracker.models import Clinic, ClinicMembership, User
from tracker.sharing.services import invite_accept, invite_create

DEMO_USERS = [
    {"email": "client@demo.securebase.local", "password": "demo-client-pass-1", "role": "client",
     "display_name": "Demo Client", "timezone": "Europe/Berlin"},
    {"email": "therapist@demo.securebase.local", "password": "demo-therapist-pass-1", "role": "therapist",
     "display_name": "Demo Therapist", "timezone": "Europe/Berlin"},
    {"email": "clinic-admin@demo.securebase.local", "password": "demo-clinic-pass-1", "role": "clinic_admin",
     "display_name": "Demo Clinic Admin", "timezone": "Europe/Berlin"},
]  # fmt: skip
DEMO_CLINIC = "Demo Clinic"
# The RFC 6238 test key ("12345678901234567890"), base32 GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ: the demo
# therapist's and clinic admin's authenticator. contract/run.py computes their codes from it.
DEMO_TOTP_HEX_KEY = "3132333435363738393031323334353637383930"
HISTORY_WEEKS = 10


def _answers(week: int, rng: random.Random) -> list[dict]:
    """Working model check-in answers that drift from preoccupied toward secure over the weeks."""
    worry = max(1, min(7, round(6 - week * 0.35 + rng.uniform(-0.8, 0.8))))
    closeness_ok = max(1, min(7, round(3 + week * 0.25 + rng.uniform(-0.8, 0.8))))
    # Items 1-4 anxiety (2 and 4 reverse-keyed), 5-8 avoidance (6 and 8 reverse-keyed).
    values = {1: worry, 2: 8 - worry, 3: worry, 4: 8 - worry, 5: 8 - closeness_ok, 6: closeness_ok,
              7: 8 - closeness_ok, 8: closeness_ok}  # fmt: skip
    return [{"item": item, "value": value} for item, value in values.items()]


class Command(BaseCommand):
    help = "Create (or reset) a demo client with history and a verified demo therapist. Never in production."

    @transaction.atomic
    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("Demo accounts with known passwords are never created in production.")
        Clinic.objects.filter(name=DEMO_CLINIC, memberships__user__email__in=[s["email"] for s in DEMO_USERS]).delete()
        erased, _ = User.objects.filter(email__in=[spec["email"] for spec in DEMO_USERS]).delete()
        if erased:
            self.stdout.write("previous demo accounts erased (history, summaries, shares, inbox, tokens)")
        users = {}
        for spec in DEMO_USERS:
            spec = dict(spec)
            password = spec.pop("password")
            user = User.objects.create_user(password=password, **spec)
            users[user.role] = user
            self.stdout.write(f"demo {user.role}: {user.email} / {password}")
        client, therapist = users["client"], users["therapist"]
        self._clinic(therapist=therapist, admin=users["clinic_admin"])
        self._history(client)
        invite = invite_create(client=client, scopes=["checkins", "regulation_logs", "summaries"])
        invite_accept(therapist=therapist, code=invite.code, ip="127.0.0.1")
        self.stdout.write("demo client shares check-ins, regulation logs and summaries with the demo therapist")

    def _clinic(self, *, therapist: User, admin: User) -> None:
        """The therapist is verified the only way there is: a clinic admin checked their licence."""
        clinic = clinic_create(name=DEMO_CLINIC, admin=admin)
        membership = ClinicMembership.objects.create(
            clinic=clinic, user=therapist, role=ClinicMembership.Role.THERAPIST
        )
        expires_on = (timezone.now() + timedelta(days=365)).date()
        licence_record(membership=membership, number="DEMO-0001", jurisdiction="Demo", expires_on=expires_on)
        licence_verify(membership=membership, by=admin)
        for user in (therapist, admin):
            demo_totp_device(user=user, hex_key=DEMO_TOTP_HEX_KEY)
            recovery_codes_replace(user=user)
        self.stdout.write(
            f"demo clinic: {DEMO_CLINIC} verified the demo therapist's licence; therapist and clinic admin sign in "
            "with a second factor: authenticator key GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        )

    def _history(self, client: User) -> None:
        rng = random.Random(7)  # the same demo every time
        now = timezone.now()
        instrument = instrument_get(code="wmc")
        for week in range(HISTORY_WEEKS):
            for day in (1, 4):
                occurred_at = now - timedelta(weeks=HISTORY_WEEKS - week, days=-day, hours=rng.randint(0, 6))
                if occurred_at >= now:
                    continue
                checkin_create(user=client, id=uuid.uuid4(), instrument=instrument, occurred_at=occurred_at,
                               utc_offset_minutes=60, responses=_answers(week, rng))  # fmt: skip
            before = rng.randint(6, 9)
            strategies = rng.choice([["breathing"], ["support_seeking"], ["rumination"], ["reappraisal", "movement"]])
            regulation_log_create(
                user=client, id=uuid.uuid4(), occurred_at=now - timedelta(weeks=HISTORY_WEEKS - week, days=-2),
                utc_offset_minutes=60, trigger=rng.choice(["conflict", "separation", "uncertainty"]),
                trigger_target="partner", emotions=[{"label": "anxiety", "intensity": before}],
                intensity_before=before, intensity_after=max(0, before - rng.randint(1, 5)), strategies=strategies,
                reached_out="support_seeking" in strategies, recovery_minutes=rng.randint(10, 90),
            )  # fmt: skip
        # Completed local weeks only; the current week is the scheduler's, at its end (next_summary_at).
        this_week = local_week_start(now, client.timezone)
        last_week = this_week - WEEK
        recompute_summaries(
            start=(now - timedelta(weeks=HISTORY_WEEKS + 1)).date(), end=last_week + timedelta(days=6), now=now
        )
        WeeklySummary.objects.filter(user=client, week_start__gte=this_week).delete()
        WeeklySummary.objects.filter(user=client, week_start__lt=last_week).update(notified_at=now)
        User.objects.filter(pk=client.pk).update(next_summary_at=next_summary_at_for(tz=client.timezone, now=now))
        self.stdout.write(
            f"demo client: {HISTORY_WEEKS} weeks of check-ins and regulation logs; weekly summaries up to last "
            "week (the next scheduler tick announces last week's)"
        )
