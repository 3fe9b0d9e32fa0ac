"""The rule that raised a safety flag is stored on the entry and shown by name: on the client's own
API, in the therapist's API rows and on the dashboard. Both rules: a yes to the safety question, and
intensity >= 9 with no recovery recorded after a while (at write time, or by the scheduler's sweep)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.entries.entry_factories import checkin_body, local_time
from tests.entries.test_regulation_api import log_body, make_log
from tests.helpers import web_login
from tests.sharing.factories import ShareGrantFactory
from tracker.entries.services.regulation import safety_sweep_job
from tracker.models import CheckIn, RegulationLog, SafetyReason

pytestmark = pytest.mark.django_db

ANSWER_WORDS = "Answered yes to the safety question (urges to harm themselves)"
INTENSITY_WORDS = "Intensity 9 or more with no recovery recorded after a while"


def open_extreme(**overrides):
    return log_body(
        occurred_at=local_time(timezone.now() - timedelta(hours=3)),
        intensity_before=9,
        intensity_after=None,
        recovery_minutes=None,
        **overrides,
    )


def test_a_yes_to_the_safety_question_names_that_rule(client_api):
    data = client_api.post("/api/v1/regulation-logs/", log_body(safety=True), format="json").json()
    assert data["safety_flag"] is True
    assert data["safety_reason"] == "safety_answer" and data["safety_reason_text"] == ANSWER_WORDS
    assert RegulationLog.objects.get(id=data["id"]).safety_reason == SafetyReason.SAFETY_ANSWER

    checkin = client_api.post("/api/v1/checkins/", checkin_body(safety=True), format="json").json()
    assert checkin["safety_flag"] is True and checkin["safety_reason"] == "safety_answer"
    assert checkin["safety_reason_text"] == ANSWER_WORDS
    assert CheckIn.objects.get(id=checkin["id"]).safety_reason == "safety_answer"


def test_unflagged_entries_have_no_reason(client_api):
    log = client_api.post("/api/v1/regulation-logs/", log_body(safety=False), format="json").json()
    checkin = client_api.post("/api/v1/checkins/", checkin_body(safety=False), format="json").json()
    for data in (log, checkin):
        assert data["safety_flag"] is False and data["safety_reason"] is None and data["safety_reason_text"] is None


def test_extreme_intensity_without_recovery_names_the_intensity_rule_at_once(client_api):
    data = client_api.post("/api/v1/regulation-logs/", open_extreme(), format="json").json()
    assert data["safety_flag"] is True and data["safety"] is None
    assert data["safety_reason"] == "intensity_without_recovery" and data["safety_reason_text"] == INTENSITY_WORDS


def test_the_sweep_names_the_intensity_rule_and_a_safety_answer_takes_precedence(client_api, client_user):
    swept = make_log(client_user, intensity_before=10, intensity_after=None, recovery_minutes=None)
    answered = make_log(client_user, intensity_before=10, intensity_after=None, recovery_minutes=None, safety=True)
    assert RegulationLog.objects.get(id=swept.id).safety_reason == ""
    assert safety_sweep_job(now=timezone.now() + timedelta(hours=2)) == 2
    assert RegulationLog.objects.get(id=swept.id).safety_reason == "intensity_without_recovery"
    # Both rules apply to the answered one: the answer names the reason.
    assert RegulationLog.objects.get(id=answered.id).safety_reason == "safety_answer"
    # Taking the answer back leaves the (sticky) intensity rule as the reason; the flag stays.
    data = client_api.patch(f"/api/v1/regulation-logs/{answered.id}/", {"safety": False}, format="json").json()
    assert data["safety_flag"] is True and data["safety_reason"] == "intensity_without_recovery"


def test_the_therapist_sees_the_reason_in_words_in_api_rows_and_on_the_dashboard(
    client, client_api, client_user, therapist, therapist_api
):
    ShareGrantFactory(client=client_user, therapist=therapist)
    client_api.post("/api/v1/regulation-logs/", log_body(safety=True), format="json")
    client_api.post("/api/v1/regulation-logs/", open_extreme(), format="json")
    client_api.post("/api/v1/checkins/", checkin_body(safety=True), format="json")

    logs = therapist_api.get(f"/api/v1/clients/{client_user.id}/regulation-logs/").json()["results"]
    assert sorted((r["safety_reason"], r["safety_reason_text"]) for r in logs) == [
        ("intensity_without_recovery", INTENSITY_WORDS),
        ("safety_answer", ANSWER_WORDS),
    ]
    checkins = therapist_api.get(f"/api/v1/clients/{client_user.id}/checkins/").json()["results"]
    assert [(r["safety_reason"], r["safety_reason_text"]) for r in checkins] == [("safety_answer", ANSWER_WORDS)]

    web_login(client, therapist)
    html = client.get(f"/dashboard/clients/{client_user.id}/").content.decode()
    assert html.count('data-testid="safety-reason"') == 3
    assert INTENSITY_WORDS in html
    assert html.count(ANSWER_WORDS) == 2  # the log's and the check-in's
