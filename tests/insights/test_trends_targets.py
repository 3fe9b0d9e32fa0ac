"""ECR-RS in the trends: one series per relationship target, and a global series made only of the
check-ins that answered every target (the others are counted as partial and left out of it).

Check-ins go through the real API with the shipped ECR-RS scoring key (its wording loaded the way a
clinic does), so the shapes here are the ones production stores."""

import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from tests.entries.entry_factories import checkin_body, local_time
from tests.helpers import load_licensed_wording
from tests.insights.test_trends_schema import assert_valid, response_schema, spec  # noqa: F401 - fixture
from tracker.common.weeks import local_week_start
from tracker.insights import scoring

pytestmark = pytest.mark.django_db

SHIPPED = json.loads(
    (Path(settings.BASE_DIR) / "tracker" / "entries" / "instruments" / "ecr-rs.v1.json").read_text(encoding="utf-8")
)
KEY = scoring.key_from_definition(SHIPPED)
TARGETS = tuple(SHIPPED["targets"])


def answers(values_by_target: dict[str, int]) -> list[dict]:
    """Every item of each given target answered with one value (reverse keying makes the scores differ)."""
    return [
        {"item": item["number"], "value": value, "target": target}
        for target, value in values_by_target.items()
        for item in SHIPPED["items"]
    ]


def expected(values_by_target: dict[str, int]) -> scoring.Scores:
    return scoring.score(KEY, answers(values_by_target), cut=settings.QUADRANT_CUT)


@pytest.fixture
def ecr_rs_user(client_user, client_api, tmp_path):
    load_licensed_wording(tmp_path, codes=("ecr-rs",))
    client_user.timezone = "UTC"
    client_user.save()
    return client_user


def post(api, weeks_ago: int, values_by_target: dict[str, int], hours: int = 0):
    at = timezone.now() - timedelta(weeks=weeks_ago, hours=hours)
    body = checkin_body(instrument="ecr-rs", occurred_at=local_time(at), responses=answers(values_by_target))
    response = api.post("/api/v1/checkins/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


FULL_A = {"mother": 2, "father": 6, "partner": 3, "best_friend": 5}
FULL_B = {"mother": 3, "father": 5, "partner": 2, "best_friend": 4}
PARTNER_ONLY = {"partner": 7}


def test_ecr_rs_trends_have_per_target_series_and_a_global_series_of_complete_check_ins_only(
    ecr_rs_user,
    client_api,
    spec,  # noqa: F811 - the schema test's fixture
    django_assert_max_num_queries,
):
    post(client_api, 3, FULL_A)
    post(client_api, 2, FULL_B)
    partial = post(client_api, 2, PARTNER_ONLY, hours=1)  # same week as FULL_B, one target only
    assert partial["scores"]["partial"] is True and list(partial["scores"]["targets"]) == ["partner"]
    post(client_api, 1, PARTNER_ONLY)  # a week with only a partial check-in
    post(client_api, 0, FULL_A)

    with django_assert_max_num_queries(3 + 2):  # knox (2) + weekly history, regulation logs, per-target
        body = client_api.get("/api/v1/trends/", {"weeks": 6}).json()
    assert_valid(response_schema(spec, "/api/v1/trends/"), body)

    instrument = body["instrument"]
    assert (instrument["code"], instrument["checkins"], instrument["partial_checkins"]) == ("ecr-rs", 3, 2)
    assert body["adherence"]["done"] == 5  # partial check-ins are still check-ins done

    # The global series: complete check-ins only; the partial-only week has no global point.
    weeks = {w["week_start"]: w for w in body["weeks"]}
    now = timezone.now()

    def week_of(weeks_ago: int) -> dict:
        return weeks[local_week_start(now - timedelta(weeks=weeks_ago), "UTC").isoformat()]

    b = expected(FULL_B)
    assert (week_of(2)["checkins"], week_of(2)["partial_checkins"]) == (1, 1)
    assert week_of(2)["anxiety"] == pytest.approx(b.anxiety, abs=1e-4) and week_of(2)["avoidance"] == pytest.approx(
        b.avoidance, abs=1e-4
    )
    assert (week_of(1)["checkins"], week_of(1)["partial_checkins"], week_of(1)["anxiety"]) == (0, 1, None)
    assert [p["anxiety"] for p in body["trajectory"]] == pytest.approx(
        [expected(FULL_A).anxiety, b.anxiety, expected(FULL_A).anxiety], abs=1e-4
    )

    # One series per target in the shipped order; the partner's includes the partial check-ins.
    series = {t["target"]: t for t in instrument["targets"]}
    assert [t["target"] for t in instrument["targets"]] == list(TARGETS)
    assert [series[t]["checkins"] for t in TARGETS] == [3, 3, 5, 3]
    partner_weeks = {w["week_start"]: w for w in series["partner"]["weeks"]}
    week2 = partner_weeks[week_of(2)["week_start"]]
    partner_b, partner_only = b.extra["targets"]["partner"], expected(PARTNER_ONLY).extra["targets"]["partner"]
    assert week2["checkins"] == 2
    assert week2["anxiety"] == pytest.approx((partner_b["anxiety"] + partner_only["anxiety"]) / 2, abs=1e-4)
    assert week2["avoidance"] == pytest.approx((partner_b["avoidance"] + partner_only["avoidance"]) / 2, abs=1e-4)
    assert partner_weeks[week_of(1)["week_start"]]["anxiety"] == pytest.approx(partner_only["anxiety"], abs=1e-4)
    mother = {w["week_start"]: w for w in series["mother"]["weeks"]}
    assert week_of(1)["week_start"] not in mother  # no mother answers that week
    assert mother[week_of(3)["week_start"]]["quadrant"] == expected(FULL_A).extra["targets"]["mother"]["quadrant"]


def test_instruments_without_targets_have_no_target_series(client_api):
    client_api.post("/api/v1/checkins/", checkin_body(), format="json")
    body = client_api.get("/api/v1/trends/").json()
    assert body["instrument"]["code"] == "wmc"
    assert body["instrument"]["targets"] is None and body["instrument"]["partial_checkins"] == 0
    assert {w["partial_checkins"] for w in body["weeks"]} == {0}


def test_ecr_rs_next_to_the_primary_instrument_keeps_its_target_series(ecr_rs_user, client_api, spec):  # noqa: F811
    for days in range(3):
        at = local_time(timezone.now() - timedelta(days=days, hours=1))
        client_api.post("/api/v1/checkins/", checkin_body(occurred_at=at), format="json")
    post(client_api, 0, PARTNER_ONLY)
    body = client_api.get("/api/v1/trends/").json()
    assert_valid(response_schema(spec, "/api/v1/trends/"), body)
    assert body["instrument"]["code"] == "wmc"
    (other,) = body["other_instruments"]
    assert (other["code"], other["checkins"], other["partial_checkins"], other["weeks"]) == ("ecr-rs", 0, 1, [])
    assert [t["checkins"] for t in other["targets"]] == [0, 0, 1, 0]
    assert body["adherence"]["done"] == 4


def test_the_client_list_direction_ignores_partial_check_ins(ecr_rs_user, client_api, therapist):
    from tests.sharing.factories import ShareGrantFactory
    from tracker.sharing.selectors.shared_data import directions_for_clients, trend_for_client

    grant = ShareGrantFactory(client=ecr_rs_user, therapist=therapist)
    for weeks_ago, values in enumerate([FULL_A, FULL_B, FULL_A, FULL_B]):
        post(client_api, weeks_ago, values)
        post(client_api, weeks_ago, PARTNER_ONLY, hours=1)
    listed = directions_for_clients(grants=[grant])[ecr_rs_user.id]
    assert listed == trend_for_client(user=ecr_rs_user)["direction"]["value"]
