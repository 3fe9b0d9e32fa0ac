"""Clinic outcomes: aggregates of the reliable change of the clinic's consenting clients, from
check-ins scored by the shipped working-model instrument through the real check-in service, in
several timezones across the March/April DST changes, on a travelled clock. Hidden under five."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from tests.alerts.helpers import checkin_at
from tests.conftest import api_for
from tests.factories import ClinicAdminFactory, TherapistFactory, UserFactory
from tests.helpers import assert_error, web_login
from tests.sharing.factories import ShareGrantFactory
from tracker.models import ClinicMembership, ShareGrant

pytestmark = pytest.mark.django_db

MONDAY = datetime(2026, 3, 2, 12, tzinfo=UTC)
NOW = datetime(2026, 4, 15, 12, tzinfo=UTC)
ZONES = ["Europe/Berlin", "America/New_York", "Pacific/Auckland"]
# Weekly anxiety (avoidance stays 4). Baseline = mean of the first two weeks, now = of the last two:
# a 2.0 change is RC = 2.0 / 0.8485 = 2.36 with the instrument's SD and r (reliable), 0.5 is not.
IMPROVING = [7, 6, 5, 4]  # 6.5 -> 4.5
WORSENING = [4, 5, 6, 7]  # 4.5 -> 6.5
STEADY = [4, 5, 4, 5]  # 4.5 -> 4.5


@pytest.fixture
def admin():
    return ClinicAdminFactory(email="ada.admin@example.test")


@pytest.fixture
def member(admin):
    """A therapist verified through the admin's clinic (the factory's own clinic aside)."""
    therapist = TherapistFactory(email="mira.member@example.test")
    ClinicMembership.objects.create(
        clinic=admin.clinic,
        user=therapist,
        role=ClinicMembership.Role.THERAPIST,
        licence_number="L-9",
        licence_jurisdiction="DE-BE",
        licence_expires_on=(NOW + timedelta(days=365)).date(),
        licence_verified_at=NOW - timedelta(days=60),
    )
    return therapist


def client_with(therapist, n: int, anxieties: list[int], *, first_week: int = 2, **share) -> object:
    """A client in one of ZONES sharing with `therapist`, one check-in a week at local Wednesday noon."""
    zone = ZONES[n % len(ZONES)]
    user = UserFactory(email=f"client{n}.{therapist.pk.hex[:6]}@example.test", timezone=zone)
    ShareGrantFactory(client=user, therapist=therapist, accepted_at=MONDAY, created_at=MONDAY, **share)
    for i, anxiety in enumerate(anxieties):
        day = (MONDAY + timedelta(weeks=first_week + i, days=2)).astimezone(ZoneInfo(zone))
        checkin_at(user, day.replace(hour=12).astimezone(UTC), anxiety=anxiety)
    return user


def outcomes(api, clinic_id, **params):
    with time_machine.travel(NOW, tick=False):
        return api.get(f"/api/v1/clinics/{clinic_id}/outcomes/", params)


NUMBERS = ("clients", "not_assessed", "improved", "worsened", "no_reliable_change")


def test_hidden_under_five_and_shown_at_five_with_the_counts(admin, member):
    for n, series in enumerate([IMPROVING, IMPROVING, WORSENING, STEADY]):
        client_with(member, n, series)
    client_with(member, 10, [7, 3])  # two weeks only: consenting, but not assessable
    api = api_for(admin)
    body = outcomes(api, admin.clinic.id).json()
    assert body["shown"] is False and body["message"] == "too few clients to show"
    assert all(body[key] is None for key in NUMBERS)

    client_with(member, 4, STEADY)
    body = outcomes(api, admin.clinic.id).json()
    assert body["shown"] is True and body["message"] is None
    assert body["clients"] == 5 and body["not_assessed"] == 1
    assert body["improved"] == {"count": 2, "share": 0.4}
    assert body["worsened"] == {"count": 1, "share": 0.2}
    assert body["no_reliable_change"] == {"count": 2, "share": 0.4}
    # Default period: the last 12 weeks up to today.
    assert body["to"] == "2026-04-15" and body["from"] == "2026-01-22"


def test_the_period_cuts_the_now_weeks(admin, member):
    for n in range(5):
        client_with(member, n, [*WORSENING, 4, 5], first_week=0)  # weeks 0-5 (Mar 4 - Apr 8), back to baseline
    api = api_for(admin)
    full = outcomes(api, admin.clinic.id).json()
    assert full["worsened"]["count"] == 0 and full["no_reliable_change"]["count"] == 5
    # Up to the Sunday of week 3 (local, in every zone) the last two weeks are 6 and 7: all worsened.
    cut = outcomes(api, admin.clinic.id, **{"from": "2026-03-02", "to": "2026-03-29"}).json()
    assert cut["worsened"] == {"count": 5, "share": 1.0}
    # Up to week 2, nobody has two weeks after the baseline: nothing to show.
    early = outcomes(api, admin.clinic.id, **{"from": "2026-03-02", "to": "2026-03-22"}).json()
    assert early["shown"] is False and early["improved"] is None


def test_other_clinics_and_shares_without_checkins_are_never_counted(admin, member):
    for n in range(4):
        client_with(member, n, STEADY)
    outsider = TherapistFactory(email="otto.other@example.test")  # verified in another clinic only
    for n in range(5):
        client_with(outsider, 20 + n, WORSENING)
    client_with(member, 30, WORSENING, scope_checkins=False)
    revoked = client_with(member, 31, WORSENING)
    ShareGrant.objects.filter(client=revoked).update(status=ShareGrant.Status.REVOKED)
    body = outcomes(api_for(admin), admin.clinic.id).json()
    assert body["shown"] is False
    client_with(member, 4, STEADY)
    body = outcomes(api_for(admin), admin.clinic.id).json()
    assert body["clients"] == 5 and body["worsened"]["count"] == 0


def test_a_suspended_member_s_clients_drop_out(admin, member):
    for n in range(5):
        client_with(member, n, STEADY)
    api = api_for(admin)
    assert outcomes(api, admin.clinic.id).json()["clients"] == 5
    ClinicMembership.objects.filter(clinic=admin.clinic, user=member).update(suspended_at=NOW - timedelta(days=1))
    assert outcomes(api, admin.clinic.id).json()["shown"] is False


def test_only_the_clinic_s_admins_see_it(admin, member):
    other_admin = ClinicAdminFactory(email="olga.other@example.test")
    assert_error(outcomes(api_for(member), admin.clinic.id), 404)
    assert_error(outcomes(api_for(other_admin), admin.clinic.id), 404)
    browser = web_login(Client(), member)
    with time_machine.travel(NOW, tick=False):
        assert browser.get(f"/dashboard/clinics/{admin.clinic.id}/outcomes/").status_code == 404


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-04-10", "to": "2026-04-01"}, "from"),
        ({"to": "2026-05-01"}, "to"),
        ({"from": "2023-01-01", "to": "2026-04-01"}, "from"),
        ({"from": "yesterday"}, "from"),
    ],
)
def test_bad_periods_are_a_400(admin, params, field):
    assert_error(outcomes(api_for(admin), admin.clinic.id, **params), 400, fields=[field])


def test_dashboard_page_is_linked_and_hides_under_five(admin, member):
    browser = web_login(Client(), admin)
    for n in range(4):
        client_with(member, n, WORSENING)
    with time_machine.travel(NOW, tick=False):
        clinic_page = browser.get(f"/dashboard/clinics/{admin.clinic.id}/").content.decode()
        url = f"/dashboard/clinics/{admin.clinic.id}/outcomes/"
        assert f'href="{url}"' in clinic_page
        page = browser.get(url).content.decode()
        assert "Too few clients to show." in page and "Reliably worsened" not in page
        client_with(member, 4, WORSENING)
        page = browser.get(url, {"start": "2026-03-02", "end": "2026-04-15"}).content.decode()
        assert "Reliably worsened</th><td>5</td><td>100%" in page
        assert browser.get(url, {"start": "2026-04-15", "end": "2026-03-02"}).status_code == 400
    assert timezone.now() > NOW  # the travel ended
