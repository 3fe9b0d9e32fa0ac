"""The session report PDF: its text (pypdf) shows the numbers the API reports, within the share's
scope; a page is rendered to PNG (pypdfium2) under artifacts/ for CI; every download is logged."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pypdfium2
import pytest
import time_machine
from django.conf import settings
from django.test import Client
from pypdf import PdfReader

from tests.alerts.helpers import checkin_at, regulation_log_at, tick_at
from tests.helpers import assert_error, web_login
from tests.sharing.factories import ShareGrantFactory
from tracker.models import AccessLogEntry, Alert

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, 11, tzinfo=UTC)  # a Monday; the weeks run across Berlin's DST change
ARTIFACT = Path(settings.BASE_DIR) / "artifacts" / "session-report.png"


def history(user):
    """Six weeks: anxiety rising 4 -> 7 (reliably worse), regulation logs with three strategies."""
    for week, (anxiety, avoidance) in enumerate([(4, 5), (5, 5), (6, 5), (7, 6), (7, 6), (7, 7)]):
        at = START + timedelta(weeks=week, days=2)
        checkin_at(user, at, anxiety=anxiety, avoidance=avoidance)
        checkin_at(user, at + timedelta(days=1), anxiety=anxiety, avoidance=4)
        regulation_log_at(user, at, strategies=["breathing"], intensity_before=8, intensity_after=3)
        regulation_log_at(
            user, at + timedelta(hours=5), strategies=["rumination"], intensity_before=7, intensity_after=6
        )
    return START + timedelta(weeks=5, days=4)


def text_of(pdf: bytes) -> tuple[str, int]:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages), len(reader.pages)


def f2(value) -> str:
    return f"{value:.2f}"


def test_report_shows_the_numbers_the_api_reports(client_user, therapist, therapist_api):
    ShareGrantFactory(client=client_user, therapist=therapist, accepted_at=START, created_at=START)
    now = history(client_user)
    tick_at(now)  # the rules fire: the report lists the alerts
    assert Alert.objects.exists()
    with time_machine.travel(now + timedelta(hours=1), tick=False):
        response = therapist_api.get(f"/api/v1/clients/{client_user.id}/report/")
        trend = therapist_api.get(f"/api/v1/clients/{client_user.id}/trends/").json()
        digest = therapist_api.get(f"/api/v1/clients/{client_user.id}/digest/").json()
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"] == "no-store"
    assert str(client_user.id) in response["Content-Disposition"]
    text, pages = text_of(response.content)
    assert pages in (1, 2)
    assert client_user.display_name in text
    latest = [w for w in trend["weeks"] if w["anxiety"] is not None][-1]
    for value in (latest["anxiety"], latest["avoidance"], latest["distance_to_secure"], latest["ewma"]["anxiety"]):
        assert f2(value) in text
    rci = trend["statistics"]["reliable_change"]
    for value in (rci["anxiety"]["rc"], rci["anxiety"]["baseline"], rci["avoidance"]["rc"], rci["joint"]["chi2"]):
        assert f2(value) in text
    for strategy in trend["regulation"]["strategies"]:
        cells = [strategy["strategy"], strategy["family"], str(strategy["episodes"]), f2(strategy["mean_drop"])]
        assert "\n".join(cells) in text  # one table row
    assert f"Check-ins: {digest['checkins']['new']};" in text
    assert f"Regulation logs: {digest['regulation']['episodes']} episodes" in text
    assert "Reliable worsening" in text  # the alerts section
    assert AccessLogEntry.objects.filter(resource="report", channel="api", client=client_user).count() == 1

    # A page as an image, kept as a CI artifact.
    page = pypdfium2.PdfDocument(response.content)[0]
    image = page.render(scale=1.5).to_pil()
    ARTIFACT.parent.mkdir(exist_ok=True)
    image.save(ARTIFACT)
    assert image.width > 800
    darkest, lightest = image.convert("L").getextrema()
    assert darkest < 80 and lightest > 240  # not blank: dark text on a white page


def test_fields_outside_the_scope_are_absent(client_user, therapist, therapist_api):
    grant = ShareGrantFactory(
        client=client_user, therapist=therapist, accepted_at=START, scope_checkins=False, scope_summaries=False
    )
    now = history(client_user)
    with time_machine.travel(now, tick=False):
        text, _ = text_of(therapist_api.get(f"/api/v1/clients/{client_user.id}/report/").content)
    assert "Regulation by strategy" in text
    for absent in ("Weekly series", "Reliable change", "Trajectory", "Check-ins:", "Weekly summaries"):
        assert absent not in text
    grant.scope_checkins, grant.scope_regulation_logs = True, False
    grant.save()
    with time_machine.travel(now, tick=False):
        text, _ = text_of(therapist_api.get(f"/api/v1/clients/{client_user.id}/report/").content)
    assert "Reliable change" in text
    for absent in ("Regulation by strategy", "Regulation logs:", "breathing", "rumination"):
        assert absent not in text


def test_report_is_404_without_a_live_share(client_user, therapist, therapist_api, other_therapist_api, client_api):
    grant = ShareGrantFactory(client=client_user, therapist=therapist, accepted_at=START)
    assert_error(other_therapist_api.get(f"/api/v1/clients/{client_user.id}/report/"), 404)
    assert_error(client_api.get(f"/api/v1/clients/{client_user.id}/report/"), 404)
    client_api.delete(f"/api/v1/shares/{grant.id}/")
    assert_error(therapist_api.get(f"/api/v1/clients/{client_user.id}/report/"), 404)
    assert not AccessLogEntry.objects.filter(resource="report").exists()


def test_dashboard_download(client_user, therapist, other_therapist):
    ShareGrantFactory(client=client_user, therapist=therapist, accepted_at=START)
    now = history(client_user)
    web = Client()
    web_login(web, therapist)
    with time_machine.travel(now, tick=False):
        page = web.get(f"/dashboard/clients/{client_user.id}/").content.decode()
        assert f"/dashboard/clients/{client_user.id}/report/" in page
        response = web.get(f"/dashboard/clients/{client_user.id}/report/")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert AccessLogEntry.objects.filter(resource="report", channel="web").count() == 1
    other = Client()
    web_login(other, other_therapist)
    assert other.get(f"/dashboard/clients/{client_user.id}/report/").status_code == 404


def test_a_name_with_markup_characters_prints_as_typed(client_user, therapist, therapist_api):
    client_user.display_name = "Sam <b> & Co"
    client_user.save()
    ShareGrantFactory(client=client_user, therapist=therapist, accepted_at=START)
    checkin_at(client_user, START + timedelta(days=1))
    with time_machine.travel(START + timedelta(days=2), tick=False):
        response = therapist_api.get(f"/api/v1/clients/{client_user.id}/report/")
    assert response.status_code == 200
    text, pages = text_of(response.content)
    assert "Session report: Sam <b> & Co" in text
    assert pages == 1
