"""The trend maths against scipy, against direct O(n^2) computations, and against hand-worked numbers."""

import math
from collections import Counter
from datetime import date, timedelta

import numpy as np
import pytest
from scipy import stats

from tracker.entries.vocabularies import STRATEGY_FAMILY
from tracker.insights import trends

RNG_SEED = 20261124


def random_series(rng, n: int):
    """Distinct, gappy week indices and values that are sometimes heavily tied (rounded), sometimes not."""
    x = np.sort(rng.choice(np.arange(0, 3 * n + 1), size=n, replace=False)).astype(float)
    kind = rng.integers(0, 3)
    if kind == 0:
        y = rng.normal(4, 1.2, n)
    elif kind == 1:
        y = np.round(rng.normal(4, 1.2, n) * 2) / 2  # half points: many ties
    else:
        y = rng.integers(1, 4, n).astype(float)  # three levels: ties everywhere
    y = y + (rng.normal() * 0.1) * x  # a random drift
    if kind != 0:
        y = np.round(y, 1)
    return x, y


def direct_theil_sen(x, y):
    slopes = [(y[j] - y[i]) / (x[j] - x[i]) for i in range(len(y)) for j in range(i + 1, len(y))]
    return float(np.median(slopes))


def direct_mann_kendall(y, continuity=True):
    y = [float(v) for v in y]
    n = len(y)
    s = sum((y[j] > y[i]) - (y[j] < y[i]) for i in range(n) for j in range(i + 1, n))
    ties = Counter(y)
    var = (n * (n - 1) * (2 * n + 5) - sum(t * (t - 1) * (2 * t + 5) for t in ties.values() if t > 1)) / 18
    if var == 0:
        return s, var, 0.0, 1.0
    shift = (1 if s > 0 else -1 if s < 0 else 0) if continuity else 0
    z = (s - shift) / math.sqrt(var)
    p = math.erfc(abs(z) / math.sqrt(2))
    return s, var, z, p


def test_theil_sen_agrees_with_scipy_and_with_the_median_of_pairwise_slopes():
    rng = np.random.default_rng(RNG_SEED)
    for _ in range(300):
        n = int(rng.integers(2, 16))
        x, y = random_series(rng, n)
        ours = trends.theil_sen(x.tolist(), y.tolist())
        reference = stats.theilslopes(y, x)
        assert ours["n"] == n
        assert ours["slope"] == pytest.approx(reference.slope, abs=1e-12)
        assert ours["intercept"] == pytest.approx(reference.intercept, abs=1e-9)
        assert ours["low"] == pytest.approx(reference.low_slope, abs=1e-12)
        assert ours["high"] == pytest.approx(reference.high_slope, abs=1e-12)
        assert ours["slope"] == pytest.approx(direct_theil_sen(x, y), abs=1e-12)


def test_theil_sen_needs_two_points():
    assert trends.theil_sen([0], [3.0])["slope"] is None
    assert trends.theil_sen([], [])["slope"] is None
    assert trends.theil_sen([0, 2], [3.0, 4.0])["slope"] == pytest.approx(0.5)


def test_mann_kendall_agrees_with_a_direct_computation_and_with_kendalltau():
    rng = np.random.default_rng(RNG_SEED + 1)
    compared_with_kendalltau = 0
    for _ in range(300):
        n = int(rng.integers(2, 16))
        x, y = random_series(rng, n)
        s, var, z, p = direct_mann_kendall(y)
        ours = trends.mann_kendall(y.tolist())
        assert ours["s"] == s
        assert trends.mann_kendall_s(y) == s
        if n < 2:
            continue
        assert trends.mann_kendall_variance(y) == pytest.approx(var, rel=1e-12)
        if n < 6:
            assert ours["method"] == "descriptive"
            assert ours["z"] is None and ours["p"] is None
            continue
        assert ours["method"] == "mann_kendall"
        assert ours["z"] == pytest.approx(z, abs=1e-12)
        assert ours["p"] == pytest.approx(p, rel=1e-9, abs=1e-15)
        assert ours["trend"] == ("no_trend" if p >= 0.05 else "increasing" if z > 0 else "decreasing")

        # Without the continuity correction our Z is exactly kendalltau's asymptotic tau-b test
        # (x has no ties, so its variance reduces to the tie-corrected Mann-Kendall one).
        uncorrected = trends.mann_kendall(y.tolist(), continuity_correction=False)
        tau = stats.kendalltau(x, y, method="asymptotic")
        if var > 0 and not np.isnan(tau.statistic):
            assert np.sign(tau.statistic) == np.sign(s)
            assert uncorrected["p"] == pytest.approx(tau.pvalue, rel=1e-9, abs=1e-15)
            # The continuity correction only ever makes the test more conservative.
            assert ours["p"] >= tau.pvalue - 1e-12
            compared_with_kendalltau += 1
    assert compared_with_kendalltau > 100


def test_mann_kendall_hand_worked_monotone_series():
    # 1..6 strictly increasing: S = 15, Var = 6*5*17/18 = 28.333, Z = 14/sqrt(28.333) = 2.6301
    result = trends.mann_kendall([1, 2, 3, 4, 5, 6])
    assert result["s"] == 15
    assert result["z"] == pytest.approx(14 / math.sqrt(6 * 5 * 17 / 18))
    assert result["p"] == pytest.approx(0.008535, abs=1e-5)
    assert result["trend"] == "increasing"
    # All tied: no evidence of a trend, and no division by zero.
    flat = trends.mann_kendall([3, 3, 3, 3, 3, 3])
    assert flat["s"] == 0 and flat["z"] == 0 and flat["p"] == 1 and flat["trend"] == "no_trend"


def test_ewma_hand_worked():
    # s1 = 4; s2 = 0.3*6 + 0.7*4 = 4.6; s3 = 0.3*5 + 0.7*4.6 = 4.72
    assert trends.ewma([4, 6, 5]) == pytest.approx([4.0, 4.6, 4.72])
    # Empty weeks are not imputed and do not move the running value.
    assert trends.ewma([None, 4, None, 6]) == [None, 4.0, None, pytest.approx(4.6)]
    assert trends.ewma([2, 4], lam=0.5) == pytest.approx([2.0, 3.0])


def test_reliable_change_hand_worked_reliable_improvement():
    # SEdiff = 1.0 * sqrt(2) * sqrt(0.1) = sqrt(0.2) = 0.447214; RC = (4 - 5) / 0.447214 = -2.236068
    result = trends.reliable_change(baseline=5.0, now=4.0, sd=1.0, r=0.9)
    assert result["se_diff"] == pytest.approx(0.4472136, abs=1e-7)
    assert result["rc"] == pytest.approx(-2.2360680, abs=1e-7)
    assert result["reliable"] is True
    assert result["change"] == "improved"


def test_reliable_change_hand_worked_not_reliable_and_worsening():
    # SEdiff = 1.1 * sqrt(2) * sqrt(0.2) = 1.1 * 0.632456 = 0.695701; RC = 1.2 / 0.695701 = 1.724878
    small = trends.reliable_change(baseline=3.0, now=4.2, sd=1.1, r=0.8)
    assert small["se_diff"] == pytest.approx(0.6957011, abs=1e-7)
    assert small["rc"] == pytest.approx(1.7248787, abs=1e-6)
    assert small["reliable"] is False and small["change"] == "no_reliable_change"
    # 1.5 points up: RC = 2.156 > 1.96, a reliable worsening (higher anxiety/avoidance is worse).
    large = trends.reliable_change(baseline=3.0, now=4.5, sd=1.1, r=0.8)
    assert large["rc"] == pytest.approx(1.5 / 0.6957011, abs=1e-6)
    assert large["reliable"] is True and large["change"] == "worsened"


@pytest.mark.parametrize(
    ("n", "slope", "worsening", "expected"),
    [
        (2, -1.0, [], "insufficient_data"),
        (3, -0.2, [], "improving"),
        (3, -0.2, ["anxiety"], "worsening"),
        (5, 0.2, [], "worsening"),
        (5, 0.01, [], "stable"),
        (5, -0.049, [], "stable"),
        (12, 0.0, [], "stable"),
    ],
)
def test_direction_rules(n, slope, worsening, expected):
    assert trends.direction(n_points=n, distance_slope=slope, reliable_worsening=worsening)["value"] == expected


def _points(pairs, start=date(2026, 1, 5)):
    return [
        trends.WeeklyPoint(start + timedelta(weeks=i), 1, anx, avo, 0.0, {"sb:1": 1})
        for i, (anx, avo) in enumerate(pairs)
    ]


def test_quadrant_changes_only_after_two_consecutive_weeks():
    secure, fearful, dismissing = (2, 2), (5, 5), (2, 5)
    one_off = trends.quadrant_with_hysteresis(_points([secure, secure, fearful]))
    assert one_off["current"] == "secure" and one_off["pending"] == "fearful" and one_off["latest_week"] == "fearful"

    switched = trends.quadrant_with_hysteresis(_points([secure, fearful, fearful]))
    assert switched["current"] == "fearful" and switched["since"] == "2026-01-12" and switched["pending"] is None

    # Two different new quadrants in a row are not two weeks of the same one.
    mixed = trends.quadrant_with_hysteresis(_points([secure, fearful, dismissing]))
    assert mixed["current"] == "secure" and mixed["pending"] == "dismissing"

    back = trends.quadrant_with_hysteresis(_points([secure, fearful, secure, fearful]))
    assert back["current"] == "secure"


def test_quadrant_labels_use_the_one_boundary_rule():
    # Secure exactly when both are <= the cut (distance 0); the cut itself is secure.
    assert trends.quadrant_label(4.01, 4.0) == "preoccupied"
    assert trends.quadrant_label(4.0, 4.01) == "dismissing"
    assert trends.quadrant_label(4.0, 4.0) == "secure"
    assert trends.quadrant_label(4.01, 4.01) == "fearful"
    assert trends.quadrant_label(5.0, 5.0, cut=5) == "secure"
    assert trends.quadrant_label(5.01, 4.0, cut=5) == "preoccupied"
    assert trends.quadrant_label(4.5, 4.5, cut=4.25) == "fearful"


def test_regulation_statistics():
    e = trends.Episode
    episodes = [
        e(8, 4, ["breathing", "rumination"], True, 30),
        e(6, 5, ["breathing"], False, 10),
        e(7, 3, ["breathing", "breathing"], None, None),  # a duplicated code counts once
        e(None, None, ["worry", "made_up"], True, 50),
        e(5, None, [], None, 20),
    ]
    result = trends.regulation_statistics(episodes, STRATEGY_FAMILY)
    assert result["episodes"] == 5
    assert result["mean_intensity_before"] == pytest.approx((8 + 6 + 7 + 5) / 4)
    assert result["mean_drop"] == pytest.approx((4 + 1 + 4) / 3)
    assert result["median_recovery_minutes"] == 25  # median of 10, 20, 30, 50
    assert result["co_regulation_share"] == pytest.approx(2 / 3, abs=1e-4)
    # Uses: breathing x3, rumination, worry, made_up -> 6
    assert result["strategy_uses"] == 6
    assert result["family_share"]["self_soothing"] == pytest.approx(0.5)
    assert result["family_share"]["perseveration"] == pytest.approx(2 / 6, abs=1e-4)
    assert result["family_share"]["other"] == pytest.approx(1 / 6, abs=1e-4)
    assert result["family_share"]["engagement"] == 0
    assert sum(result["family_share"].values()) == pytest.approx(1, abs=1e-3)
    # Only breathing reaches three episodes.
    assert result["strategies"] == [
        {"strategy": "breathing", "family": "self_soothing", "episodes": 3, "mean_drop": 3.0, "n_with_drop": 3}
    ]


def test_regulation_statistics_of_nothing_is_null_not_zero():
    result = trends.regulation_statistics([], STRATEGY_FAMILY)
    assert result["episodes"] == 0
    assert result["mean_drop"] is None and result["median_recovery_minutes"] is None
    assert result["co_regulation_share"] is None
    assert set(result["family_share"].values()) == {None}
