"""Reliable change, the joint test, the instrument pick and the direction rule, built from the shipped
instrument files (tracker/entries/instruments/*.json): the metadata the RCI reads is the one that ships."""

import math
from datetime import UTC, date, datetime, timedelta

import pytest

from tests.factories import UserFactory
from tests.insights.trend_data import checkin, instrument
from tracker.entries.services.instruments import definitions_read
from tracker.entries.vocabularies import STRATEGY_FAMILY
from tracker.insights import trends
from tracker.insights.selectors import trend_for_user

SHIPPED = {d["code"]: d for d in definitions_read()}
META = {f"{code}:{d['version']}": d["metadata"] for code, d in SHIPPED.items()}
MONDAY = date(2026, 1, 5)


def points(key, pairs, start=MONDAY, checkins=1):
    return [
        trends.WeeklyPoint(
            start + timedelta(weeks=i),
            checkins,
            anx,
            avo,
            trends.scoring.distance_to_secure(anxiety=anx, avoidance=avo),
            {key: checkins},
        )
        for i, (anx, avo) in enumerate(pairs)
        if anx is not None
    ]


def window(n, start=MONDAY):
    return [start + timedelta(weeks=i) for i in range(n)]


def report(history, n=None, config=trends.DEFAULT_CONFIG, instrument=None):
    weeks = n or (max(p.week_start for p in history) - MONDAY).days // 7 + 1
    return trends.trend_report(
        history=history,
        window=window(weeks),
        episodes=[],
        families=STRATEGY_FAMILY,
        instrument_metadata=META,
        config=config,
        instrument=instrument,
    )


# --- The metadata reader on the shipped files --------------------------------------------------------


@pytest.mark.parametrize("code", sorted(SHIPPED))
def test_every_shipped_instrument_has_usable_sd_r_and_interscale_correlation(code):
    metadata = SHIPPED[code]["metadata"]
    found = trends.psychometrics_from_metadata(metadata)
    for dimension in ("anxiety", "avoidance"):
        raw = metadata["dimensions"][dimension]
        rel = found.dimensions[dimension]
        assert (rel.sd, rel.r) == (raw["sd"], raw["r"])
        assert rel.provisional is True and rel.source == raw["source"]
        assert rel.r_kind.startswith(raw["r_kind"])
        assert raw["r_kind"] in (
            "test_retest",
            "internal_consistency",
            "latent_stability",
            "stability",
            "assumed",
            "unverified",
        )
    assert found.correlation.r == metadata["interscale_correlation"]["r"]
    assert found.correlation.provisional is True


def test_the_labels_say_what_kind_of_r_each_instrument_cites():
    kinds = {code: d["metadata"]["dimensions"]["anxiety"]["r_kind"] for code, d in SHIPPED.items()}
    assert kinds["ecr-r"] == "latent_stability"  # Sibley, Fischer & Liu (2005): not an observed retest r
    assert kinds["rq"] == "stability"  # an 8-month stability, not a reliability
    assert SHIPPED["rq"]["metadata"]["dimensions"]["anxiety"]["r_interval"] == "8 months"
    assert kinds["wmc"] == "assumed"


def test_the_reader_rejects_unusable_values():
    ecr_s = SHIPPED["ecr-s"]["metadata"]
    broken = {
        "dimensions": {
            "anxiety": {**ecr_s["dimensions"]["anxiety"], "r": 1},  # SEdiff would be 0
            "avoidance": {**ecr_s["dimensions"]["avoidance"], "sd": 0},
        },
        "interscale_correlation": {"r": 1.0},  # R singular
    }
    found = trends.psychometrics_from_metadata(broken)
    assert found.dimensions == {} and found.correlation is None
    edge = {
        "dimensions": {"anxiety": {"sd": 0.5, "r": 0.0, "provisional": False}},
        "interscale_correlation": {"r": -0.99},
    }
    found = trends.psychometrics_from_metadata(edge)
    assert found.dimensions["anxiety"].r == 0.0 and found.dimensions["anxiety"].provisional is False
    assert found.correlation.r == -0.99
    assert trends.psychometrics_from_metadata(None).dimensions == {}
    # The old flat shape that nothing ships is not read.
    assert trends.reliability_from_metadata({"anxiety": {"sd": 1.0, "r": 0.9}}, "anxiety") is None


# --- Hand-worked RCI per dimension ------------------------------------------------------------------


def test_ecr_s_anxiety_climbing_from_2_to_7_is_a_reliable_worsening():
    # ECR-S anxiety: SD 1.1, r 0.82 -> SEdiff = 1.1·√2·√0.18 = 1.1·√0.36 = 0.66; RC = 5 / 0.66 = 7.5758.
    # ECR-S avoidance: SD 1.05, r 0.89 -> SEdiff = 1.05·√0.22 = 0.492494; 3.0 -> 4.0: RC = 2.030483.
    history = points("ecr-s:1", [(2, 3), (2, 3), (4, 3.5), (7, 4), (7, 4)])
    rci = report(history)["statistics"]["reliable_change"]
    anxiety, avoidance = rci["anxiety"], rci["avoidance"]
    assert anxiety["instrument"] == "ecr-s:1" and (anxiety["sd"], anxiety["r"]) == (1.1, 0.82)
    assert anxiety["se_diff"] == pytest.approx(0.66, abs=1e-4)
    assert anxiety["rc"] == pytest.approx(7.5758, abs=1e-4)
    assert anxiety["change"] == "worsened" and anxiety["reliable"] is True
    assert avoidance["se_diff"] == pytest.approx(0.4925, abs=1e-4)
    assert avoidance["rc"] == pytest.approx(2.0305, abs=1e-4)
    assert avoidance["change"] == "worsened"
    assert anxiety["provisional"] is True and "Wei" in anxiety["source"]


def test_wmc_hand_worked_improvement_and_no_reliable_change():
    # wmc: SD 1.2, r 0.75 -> SEdiff = 1.2·√2·√0.25 = 0.848528.
    # anxiety 6 -> 4.2 (means of two weeks): RC = -1.8 / 0.848528 = -2.12132 -> improved.
    # avoidance 3 -> 4.5: RC = 1.5 / 0.848528 = 1.767767 -> not reliable.
    history = points("wmc:1", [(6, 3), (6, 3), (5, 4), (4.4, 4.4), (4.0, 4.6)])
    rci = report(history)["statistics"]["reliable_change"]
    assert rci["anxiety"]["baseline"] == 6.0 and rci["anxiety"]["now"] == 4.2
    assert rci["anxiety"]["rc"] == pytest.approx(-2.1213, abs=1e-4) and rci["anxiety"]["change"] == "improved"
    assert rci["avoidance"]["rc"] == pytest.approx(1.7678, abs=1e-4)
    assert rci["avoidance"]["change"] == "no_reliable_change" and rci["avoidance"]["reliable"] is False
    assert rci["anxiety"]["baseline_weeks"] == ["2026-01-05", "2026-01-12"]
    assert rci["anxiety"]["now_weeks"] == ["2026-01-26", "2026-02-02"]


def test_baseline_and_now_need_two_separate_pairs_of_weeks():
    three = report(points("wmc:1", [(6, 3), (6, 3), (2, 2)]))["statistics"]["reliable_change"]
    assert three["anxiety"]["rc"] is None and "two baseline weeks" in three["anxiety"]["reason"]
    assert three["joint"]["chi2"] is None
    four = report(points("wmc:1", [(6, 3), (6, 3), (2, 2), (2, 2)]))["statistics"]["reliable_change"]
    assert four["anxiety"]["rc"] == pytest.approx(-4 / (1.2 * math.sqrt(2) * 0.5), abs=1e-4)
    # The baseline is the user's first two weeks ever, not the first two of the window.
    history = points("wmc:1", [(6, 3), (5, 3), (4, 3), (3, 3), (2, 3)])
    late = trends.trend_report(
        history=history,
        window=window(2, MONDAY + timedelta(weeks=3)),
        episodes=[],
        families=STRATEGY_FAMILY,
        instrument_metadata=META,
    )["statistics"]["reliable_change"]["anxiety"]
    assert late["baseline"] == 5.5 and late["now"] == 2.5


def test_rc_threshold_is_strict_and_configurable():
    first = trends.reliable_change(baseline=3.0, now=4.5, sd=1.1, r=0.8)
    rc = first["rc"]
    assert first["reliable"] is True
    at = trends.reliable_change(baseline=3.0, now=4.5, sd=1.1, r=0.8, threshold=rc)
    assert at["reliable"] is False and at["change"] == "no_reliable_change"
    assert trends.reliable_change(baseline=4.5, now=3.0, sd=1.1, r=0.8, threshold=rc)["reliable"] is False
    assert trends.reliable_change(baseline=4.5, now=3.0, sd=1.1, r=0.8, threshold=rc - 1e-9)["change"] == "improved"
    # A configured threshold reaches the report: ECR-S anxiety RC 7.58 is not reliable at 8.
    history = points("ecr-s:1", [(2, 3), (2, 3), (7, 3), (7, 3)])
    strict = report(history, config=trends.TrendConfig(rci_threshold=8.0))["statistics"]["reliable_change"]
    assert strict["anxiety"]["threshold"] == 8.0 and strict["anxiety"]["reliable"] is False
    assert report(history)["statistics"]["reliable_change"]["anxiety"]["reliable"] is True


# --- The joint χ² test ------------------------------------------------------------------------------


def test_joint_chi_square_hand_worked():
    # RC = (1.8, -1.8), rho = 0.3: χ² = (3.24 + 2·0.3·3.24 + 3.24) / (1 - 0.09) = 8.424 / 0.91 = 9.257143;
    # p = exp(-χ²/2) = 0.009769. Neither dimension alone passes 1.96, together they change reliably.
    result = trends.joint_reliable_change(rc_anxiety=1.8, rc_avoidance=-1.8, correlation=0.3, alpha=0.05)
    assert result["chi2"] == pytest.approx(9.257143, abs=1e-6)
    assert result["p"] == pytest.approx(0.009769, abs=1e-6)
    assert result["df"] == 2 and result["reliable"] is True
    # Same RCs in the same direction: χ² = (3.24 - 1.944 + 3.24) / 0.91 = 4.984615, p = 0.082719.
    same = trends.joint_reliable_change(rc_anxiety=1.8, rc_avoidance=1.8, correlation=0.3, alpha=0.05)
    assert same["chi2"] == pytest.approx(4.984615, abs=1e-6)
    assert same["p"] == pytest.approx(0.082719, abs=1e-6) and same["reliable"] is False
    assert trends.joint_reliable_change(rc_anxiety=1.8, rc_avoidance=1.8, correlation=0.3, alpha=0.1)["reliable"]
    # It is RCᵀ R⁻¹ RC and χ²(2) exactly.
    import numpy as np
    from scipy import stats

    rc = np.array([1.3, -0.4])
    big_r = np.array([[1, 0.3], [0.3, 1]])
    expected = float(rc @ np.linalg.inv(big_r) @ rc)
    got = trends.joint_reliable_change(rc_anxiety=1.3, rc_avoidance=-0.4, correlation=0.3, alpha=0.05)
    assert got["chi2"] == pytest.approx(expected) and got["p"] == pytest.approx(stats.chi2.sf(expected, 2))


def test_joint_test_in_the_report_from_the_shipped_wmc_metadata():
    # wmc SEdiff 0.848528; anxiety 3 -> 4.2, avoidance 3 -> 4.2: RC = √2 each, rho = 0.3:
    # χ² = (2 - 0.6·2 + 2) / 0.91 = 3.076923, p = exp(-1.538462) = 0.214711.
    history = points("wmc:1", [(3, 3), (3, 3), (4.2, 4.2), (4.2, 4.2)])
    joint = report(history)["statistics"]["reliable_change"]["joint"]
    assert joint["correlation"] == 0.3 and joint["provisional"] is True
    assert joint["chi2"] == pytest.approx(3.0769, abs=1e-4)
    assert joint["p"] == pytest.approx(0.214711, abs=1e-6)
    assert joint["reliable"] is False and joint["alpha"] == 0.05 and joint["reason"] is None
    loose = report(history, config=trends.TrendConfig(alpha=0.25))["statistics"]["reliable_change"]["joint"]
    assert loose["reliable"] is True


def test_joint_test_without_a_correlation_says_why():
    meta = {**META, "wmc:1": {"dimensions": SHIPPED["wmc"]["metadata"]["dimensions"]}}
    history = points("wmc:1", [(3, 3), (3, 3), (4.2, 4.2), (4.2, 4.2)])
    joint = trends.trend_report(
        history=history, window=window(4), episodes=[], families=STRATEGY_FAMILY, instrument_metadata=meta
    )["statistics"]["reliable_change"]["joint"]
    assert joint["chi2"] is None and "correlation" in joint["reason"]


# --- Series per instrument ---------------------------------------------------------------------------


def test_mixed_instrument_history_gives_separate_series():
    ecr_r = points("ecr-r:1", [(6, 6), (6, 6), (6, 6), (6, 6)])
    wmc = points("wmc:1", [(2, 2), (2, 2)], start=MONDAY + timedelta(weeks=1))
    body = report(ecr_r + wmc)
    assert body["instrument"]["key"] == "ecr-r:1" and body["instrument"]["picked"] == "most_used"
    # The weekly values are ECR-R's alone, never averaged with wmc's.
    assert [w["anxiety"] for w in body["weeks"]] == [6.0, 6.0, 6.0, 6.0]
    assert body["statistics"]["reliable_change"]["anxiety"]["instrument"] == "ecr-r:1"
    assert (
        body["statistics"]["reliable_change"]["anxiety"]["sd"]
        == SHIPPED["ecr-r"]["metadata"]["dimensions"]["anxiety"]["sd"]
    )
    (other,) = body["other_instruments"]
    assert other["key"] == "wmc:1" and other["code"] == "wmc" and other["version"] == 1 and other["checkins"] == 2
    assert [w["anxiety"] for w in other["weeks"]] == [2.0, 2.0]
    picked = report(ecr_r + wmc, instrument="wmc")
    assert picked["instrument"]["key"] == "wmc:1" and picked["instrument"]["picked"] == "requested"
    assert [w["anxiety"] for w in picked["weeks"]] == [None, 2.0, 2.0, None]
    assert report(ecr_r + wmc, instrument="rq")["instrument"]["picked"] == "requested_unavailable"


def test_primary_instrument_is_the_most_used_inside_the_window():
    # ecr-r: 3 check-ins a week but before the window; wmc: 1 a week inside it.
    old = points("ecr-r:1", [(5, 5)] * 3, checkins=3)
    new = points("wmc:1", [(2, 2)] * 2, start=MONDAY + timedelta(weeks=3))
    series = trends.split_by_instrument(old + new)
    start, end = MONDAY + timedelta(weeks=3), MONDAY + timedelta(weeks=4)
    assert trends.primary_instrument(series, start, end) == ("wmc:1", "most_used")
    # A window that takes in one ECR-R week (3 check-ins) against two wmc weeks (2 check-ins).
    assert trends.primary_instrument(series, MONDAY + timedelta(weeks=2), end) == ("ecr-r:1", "most_used")
    # The window's ends are inclusive.
    assert trends.primary_instrument(series, MONDAY, MONDAY)[0] == "ecr-r:1"
    assert trends.primary_instrument(series, end, end)[0] == "wmc:1"
    # A tie inside the window goes to more check-ins overall, then the most recent, then the key.
    tie = trends.split_by_instrument(
        points("a:1", [(2, 2), (2, 2)]) + points("b:1", [(2, 2)], start=MONDAY + timedelta(weeks=1))
    )
    assert trends.primary_instrument(tie, MONDAY + timedelta(weeks=1), MONDAY + timedelta(weeks=1))[0] == "a:1"
    recent = trends.split_by_instrument(
        points("a:1", [(2, 2)]) + points("b:1", [(2, 2)], start=MONDAY + timedelta(weeks=1))
    )
    assert trends.primary_instrument(recent, MONDAY + timedelta(weeks=5), MONDAY + timedelta(weeks=6))[0] == "b:1"
    same = trends.split_by_instrument(points("a:1", [(2, 2)]) + points("b:1", [(2, 2)]))
    assert trends.primary_instrument(same, MONDAY, MONDAY)[0] == "b:1"
    assert trends.primary_instrument(series, start, end, "ecr-r:1") == ("ecr-r:1", "requested")
    assert trends.primary_instrument({}, start, end) == (None, "most_used")


# --- Direction --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "slope", "worsening", "config", "expected"),
    [
        (2, -1.0, [], {}, "insufficient_data"),
        (3, -1.0, [], {}, "improving"),
        (3, -1.0, [], {"direction_min_points": 4}, "insufficient_data"),
        (4, -1.0, [], {"direction_min_points": 4}, "improving"),
        (5, None, [], {}, "insufficient_data"),
        (3, -0.2, ["anxiety"], {}, "worsening"),
        (5, 0.05, [], {}, "stable"),
        (5, -0.05, [], {}, "stable"),
        (5, 0.0501, [], {}, "worsening"),
        (5, -0.0501, [], {}, "improving"),
        (5, 0.15, [], {"flat_slope_per_week": 0.2}, "stable"),
        (5, -0.15, [], {"flat_slope_per_week": 0.2}, "stable"),
        (5, 0.25, [], {"flat_slope_per_week": 0.2}, "worsening"),
        (5, -0.25, [], {"flat_slope_per_week": 0.2}, "improving"),
        (5, -0.25, ["avoidance"], {"flat_slope_per_week": 0.2}, "worsening"),
    ],
)
def test_direction_rule_boundaries(n, slope, worsening, config, expected):
    result = trends.direction(
        n_points=n, distance_slope=slope, reliable_worsening=worsening, config=trends.TrendConfig(**config)
    )
    assert result["value"] == expected


def test_reliable_worsening_turns_a_falling_distance_into_worsening():
    # D falls (anxiety 7 -> ~4) but avoidance climbs reliably: ECR-S avoidance 1 -> 4 (RC 6.09).
    history = points("ecr-s:1", [(7, 1), (7, 1), (5, 2), (4, 4), (4, 4)])
    body = report(history)
    assert body["statistics"]["slope"]["per_week"]["distance_to_secure"] < 0
    assert body["direction"]["value"] == "worsening" and body["direction"]["reliable_worsening"] == ["avoidance"]


# --- Through the database ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_trend_for_user_keeps_instruments_apart_and_computes_rc_from_the_stored_definition():
    user = UserFactory(timezone="UTC")
    start = datetime(2026, 1, 5, 12, tzinfo=UTC)
    ecr_s = instrument("ecr-s")
    for i, anx in enumerate([2, 2, 5, 7, 7]):
        checkin(user, start + timedelta(weeks=i), anx, 3, instr=ecr_s)
    for i in range(2):
        checkin(user, start + timedelta(weeks=i, days=1), 6.5, 6.5)  # wmc, never averaged in
    body = trend_for_user(user=user, weeks=5, now=start + timedelta(weeks=4, days=2))
    assert body["instrument"]["key"] == "ecr-s:1"
    assert [w["anxiety"] for w in body["weeks"]] == [2.0, 2.0, 5.0, 7.0, 7.0]
    rc = body["statistics"]["reliable_change"]["anxiety"]
    assert rc["rc"] == pytest.approx(7.5758, abs=1e-4) and rc["change"] == "worsened"
    assert body["other_instruments"][0]["key"] == "wmc:1"
    assert body["adherence"]["done"] == 7


def test_docs_psychometrics_lists_every_shipped_value():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "psychometrics.md").read_text(encoding="utf-8")
    for code, definition in SHIPPED.items():
        rows = [line for line in doc.splitlines() if line.startswith(f"| `{code}`")]
        assert len(rows) == 2, code
        for row, dimension in zip(rows, ("anxiety", "avoidance"), strict=True):
            raw = definition["metadata"]["dimensions"][dimension]
            cells = [c.strip() for c in row.split("|")]
            assert float(cells[3]) == raw["sd"] and float(cells[4]) == raw["r"], (code, dimension)
            assert f"`{raw['r_kind']}`" in cells[5]
        assert f"{definition['metadata']['interscale_correlation']['r']} (" in rows[0]


def test_reliable_change_sign_and_difference_at_the_edges():
    # A configured low threshold makes small changes reliable: the sign alone decides the label.
    small_up = trends.reliable_change(baseline=3.0, now=3.5, sd=1.0, r=0.5, threshold=0.1)  # RC = 0.5
    assert small_up["rc"] == pytest.approx(0.5) and small_up["change"] == "worsened"
    assert small_up["difference"] == pytest.approx(0.5) and small_up["se_diff"] == pytest.approx(1.0)
    # No change at all, with a threshold below zero, is "reliable" but never a worsening.
    flat = trends.reliable_change(baseline=3.0, now=3.0, sd=1.0, r=0.5, threshold=-1.0)
    assert flat["reliable"] is True and flat["change"] == "improved"


def test_joint_result_names_its_inputs_and_p_equal_to_alpha_is_not_reliable():
    result = trends.joint_reliable_change(rc_anxiety=1.0, rc_avoidance=0.5, correlation=0.25, alpha=0.05)
    assert result["alpha"] == 0.05 and result["correlation"] == 0.25
    at = trends.joint_reliable_change(rc_anxiety=1.0, rc_avoidance=0.5, correlation=0.25, alpha=result["p"])
    assert at["reliable"] is False


@pytest.mark.parametrize(
    ("n", "slope", "worsening", "value", "reason"),
    [
        (2, -1.0, [], "insufficient_data", "fewer_than_min_points"),
        (5, -1.0, ["anxiety"], "worsening", "reliable_worsening"),
        (5, 1.0, [], "worsening", "distance_slope_positive"),
        (5, -1.0, [], "improving", "distance_slope_negative"),
        (5, 0.0, [], "stable", "distance_slope_flat"),
    ],
)
def test_direction_reports_its_reason_and_thresholds(n, slope, worsening, value, reason):
    config = trends.TrendConfig(direction_min_points=3, flat_slope_per_week=0.07)
    assert trends.direction(n_points=n, distance_slope=slope, reliable_worsening=worsening, config=config) == {
        "value": value,
        "reason": reason,
        "n": n,
        "min_points": 3,
        "distance_slope_per_week": slope,
        "flat_slope_per_week": 0.07,
        "reliable_worsening": worsening,
    }
