"""Factories for a client's data and for shares (the entry factories are minimal until the
check-ins issue ships its own)."""

import uuid
from datetime import timedelta

import factory
from django.utils import timezone

from tests.factories import TherapistFactory, UserFactory
from tracker.insights import scoring
from tracker.models import CheckIn, Instrument, RegulationLog, ShareGrant, WeeklySummary


def default_instrument() -> Instrument:
    instrument, _ = Instrument.objects.get_or_create(
        code="sb-state",
        version=1,
        defaults={"title": "Securebase state check-in", "definition": {"items": []}, "is_default": True},
    )
    return instrument


class CheckInFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CheckIn

    id = factory.LazyFunction(uuid.uuid4)
    user = factory.SubFactory(UserFactory)
    instrument = factory.LazyFunction(default_instrument)
    occurred_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))
    utc_offset_minutes = 60
    note = "felt unseen at dinner"
    responses = factory.LazyFunction(lambda: [{"item": 1, "value": 5}])
    anxiety = 5.0
    avoidance = 3.0
    self_model = factory.LazyAttribute(lambda o: 8 - o.anxiety)
    other_model = factory.LazyAttribute(lambda o: 8 - o.avoidance)
    distance_to_secure = factory.LazyAttribute(
        lambda o: scoring.distance_to_secure(anxiety=o.anxiety, avoidance=o.avoidance)
    )
    quadrant = factory.LazyAttribute(lambda o: scoring.quadrant(anxiety=o.anxiety, avoidance=o.avoidance))
    # The sync feed's per-user change sequence; a factory-wide sequence is unique per user too.
    change_seq = factory.Sequence(lambda n: n + 1)


class RegulationLogFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RegulationLog

    id = factory.LazyFunction(uuid.uuid4)
    user = factory.SubFactory(UserFactory)
    occurred_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))
    utc_offset_minutes = 60
    note = "texted a friend"
    trigger = "conflict"
    emotions = factory.LazyFunction(lambda: [{"label": "fear", "intensity": 7}])
    intensity_before = 8
    intensity_after = 4
    strategies = factory.LazyFunction(lambda: ["breathing", "support_seeking"])
    reached_out = True
    recovery_minutes = 30
    safety_flag = False
    change_seq = factory.Sequence(lambda n: n + 1)


class WeeklySummaryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WeeklySummary

    user = factory.SubFactory(UserFactory)
    week_start = factory.LazyFunction(lambda: (timezone.now() - timedelta(days=7)).date())
    iso_year = factory.LazyAttribute(lambda o: o.week_start.isocalendar()[0])
    iso_week = factory.LazyAttribute(lambda o: o.week_start.isocalendar()[1])
    payload = factory.LazyFunction(lambda: {"checkins": 3})
    computed_at = factory.LazyFunction(timezone.now)


class ShareGrantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ShareGrant

    client = factory.SubFactory(UserFactory)
    therapist = factory.SubFactory(TherapistFactory)
    accepted_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=30))
    created_at = factory.LazyAttribute(lambda o: o.accepted_at)
    scope_checkins = True
    scope_regulation_logs = True
    scope_notes = False
    scope_summaries = True


def history_for(user, *, weeks: int = 8, now=None):
    """A plausible few weeks: anxiety easing from 6 toward 3.5, avoidance 5 → 3.5, logs each week."""
    now = now or timezone.now()
    for w in range(weeks):
        at = now - timedelta(weeks=weeks - w - 1, hours=2)
        step = w / max(1, weeks - 1)
        for k in range(2):
            CheckInFactory(
                user=user,
                occurred_at=at - timedelta(days=k),
                anxiety=round(6 - 2.5 * step + 0.2 * k, 2),
                avoidance=round(5 - 1.5 * step, 2),
            )
        RegulationLogFactory(user=user, occurred_at=at, strategies=["breathing", "reappraisal"], intensity_after=3)
        RegulationLogFactory(
            user=user, occurred_at=at - timedelta(days=2), strategies=["rumination"], intensity_after=7
        )
