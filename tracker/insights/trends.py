"""The trend engine: weekly series and statistics of one user's movement toward a secure model.

Plain functions over plain data (no Django), so every number can be checked against scipy and by
hand. The selector (`tracker.insights.selectors`) fetches the weekly aggregates and regulation
episodes and calls `trend_report`; the weekly summaries reuse `weekly_point_payload` and
`regulation_statistics`, so the app shows the same figures everywhere.

Decisions where DESIGN §5 is silent or, taken literally, misleading (each is reported in
`metadata` so an app can explain it):

- *Weekly points* are weeks with at least one check-in. Slopes are per calendar week: x is the
  week's index from the start of the requested window, so a gap of three empty weeks counts as three.
  The EWMA runs over the points in time order (empty weeks are not imputed) and over the user's whole
  history, so the smoothed value of a week does not depend on how many weeks were requested.
- *Direction* uses D's Theil-Sen slope over the last ≤ 12 points, but a slope whose size is below
  `flat_slope_per_week` (default 0.05 scale points a week, i.e. 0.6 over 12 weeks) counts as flat:
  with the literal rule (sign only) any noise would label a steady user "improving" or "worsening".
- *Reliable change* baseline = mean of the weekly means of the user's first two weeks with
  check-ins ever (not of the window, so asking for fewer weeks does not move the baseline); now = mean
  of the last two weeks with check-ins inside the window. The two pairs must not overlap, so RCI
  needs ≥ 4 weekly points. Higher anxiety/avoidance is worse: RC > +1.96 is reliable worsening.
- *Quadrant hysteresis*: the first weekly point sets the label; after that it changes only when two
  consecutive weekly points (weeks with check-ins) both fall in the same new quadrant. It runs over
  the whole history for the same reason as the EWMA.
- *Family share* is the share of strategy *uses* (each code counted once per episode), so the
  shares sum to 1; per-strategy effectiveness is the mean drop of the episodes that used it
  (an episode using two strategies counts for both).
- *Co-regulation share* is over the episodes that answered `reached_out`.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from tracker.common.weeks import iso_week_label
from tracker.insights import scoring

DIMENSIONS = ("anxiety", "avoidance", "distance_to_secure")
RCI_DIMENSIONS = ("anxiety", "avoidance")
QUADRANTS = ("secure", "preoccupied", "dismissing", "fearful")


@dataclass(frozen=True)
class TrendConfig:
    ewma_lambda: float = 0.3
    slope_max_points: int = 12
    mann_kendall_min_n: int = 6
    alpha: float = 0.05
    rci_threshold: float = 1.96
    direction_min_points: int = 3
    flat_slope_per_week: float = 0.05
    quadrant_cut: float = 4.0
    min_strategy_episodes: int = 3


DEFAULT_CONFIG = TrendConfig()


@dataclass(frozen=True)
class WeeklyPoint:
    """One local ISO week with at least one check-in: means of the stored per-check-in scores."""

    week_start: date
    checkins: int
    anxiety: float
    avoidance: float
    distance_to_secure: float
    # "code:version" → check-ins that week, to pick the SD and r the RCI should use.
    instruments: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class TargetSeries:
    """An instrument scored per relationship target (ECR-RS): each target's weekly points, and per
    week the check-ins that did not answer every target. Those are left out of the instrument's global
    series (the global score of the literature is the mean over *all* targets; its SD and r are the
    global scales'), so a week with only such check-ins has no global point."""

    targets: tuple[str, ...]
    points: Mapping[str, Sequence[WeeklyPoint]]  # target -> weekly points, oldest first
    partial: Mapping[date, int] = field(default_factory=dict)  # week -> check-ins missing a target


@dataclass(frozen=True)
class Episode:
    """The scored columns of one regulation log."""

    intensity_before: int | None
    intensity_after: int | None
    strategies: Sequence[str]
    reached_out: bool | None
    recovery_minutes: int | None
    safety_flag: bool = False


@dataclass(frozen=True)
class Reliability:
    sd: float
    r: float
    provisional: bool
    source: str
    r_kind: str = ""


@dataclass(frozen=True)
class Correlation:
    """The correlation between an instrument's anxiety and avoidance scales (for the joint test)."""

    r: float
    provisional: bool
    source: str


@dataclass(frozen=True)
class Psychometrics:
    """What the RCI needs from one instrument's metadata; unusable parts are left out (None)."""

    dimensions: Mapping[str, Reliability]
    correlation: Correlation | None


def _reliability(entry: object) -> Reliability | None:
    if not isinstance(entry, Mapping):
        return None
    try:
        sd, r = float(entry["sd"]), float(entry["r"])
    except (KeyError, TypeError, ValueError):
        return None
    # SEdiff = SD·√2·√(1 - r) must be a positive real number.
    if not (math.isfinite(sd) and sd > 0 and 0 <= r < 1):
        return None
    return Reliability(
        sd=sd,
        r=r,
        provisional=entry.get("provisional") is not False,
        source=str(entry.get("source", "")),
        r_kind=str(entry.get("r_kind", "")) + (f" ({entry['r_interval']})" if entry.get("r_interval") else ""),
    )


def _correlation(entry: object) -> Correlation | None:
    if not isinstance(entry, Mapping):
        return None
    try:
        r = float(entry["r"])
    except (KeyError, TypeError, ValueError):
        return None
    if not -1 < r < 1:  # R must be invertible
        return None
    return Correlation(r=r, provisional=entry.get("provisional") is not False, source=str(entry.get("source", "")))


def psychometrics_from_metadata(metadata: Mapping | None) -> Psychometrics:
    """The one reader of the instrument metadata format (the `metadata` object of every shipped
    definition in tracker/entries/instruments/*.json)::

        {"dimensions": {"anxiety": {"sd": 1.1, "r": 0.8, "r_kind": "…", "source": "…", "provisional": true},
                        "avoidance": {…}},
         "interscale_correlation": {"r": 0.3, "source": "…", "provisional": true}}

    A value counts as provisional unless it says `"provisional": false`. SD must be > 0 and r in
    [0, 1) (else SEdiff is zero or imaginary); the inter-scale correlation must lie in (-1, 1)."""
    if not isinstance(metadata, Mapping):
        return Psychometrics(dimensions={}, correlation=None)
    entries = metadata.get("dimensions")
    entries = entries if isinstance(entries, Mapping) else {}
    dimensions = {}
    for dimension in RCI_DIMENSIONS:
        reliability = _reliability(entries.get(dimension))
        if reliability is not None:
            dimensions[dimension] = reliability
    return Psychometrics(dimensions=dimensions, correlation=_correlation(metadata.get("interscale_correlation")))


def reliability_from_metadata(metadata: Mapping | None, dimension: str) -> Reliability | None:
    """SD and r of one dimension (see `psychometrics_from_metadata`), or None when unusable."""
    return psychometrics_from_metadata(metadata).dimensions.get(dimension)


def _round(value: float | None, digits: int = 4) -> float | None:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return round(float(value), digits)


# --- Smoothing and trend statistics -----------------------------------------------------------------


def ewma(values: Sequence[float | None], lam: float = DEFAULT_CONFIG.ewma_lambda) -> list[float | None]:
    """Exponentially weighted moving average: s₁ = x₁, sₜ = λ·xₜ + (1 - λ)·sₜ₋₁.

    None (a week without data) yields None and leaves the running value untouched."""
    out: list[float | None] = []
    running: float | None = None
    for value in values:
        if value is None:
            out.append(None)
            continue
        running = float(value) if running is None else lam * float(value) + (1 - lam) * running
        out.append(running)
    return out


# The statistics are closed forms in plain Python (stdlib `statistics.NormalDist` and `math.erfc` for
# the normal quantile and tail): a web worker that imports scipy.stats carries ~100 MB more, and
# numpy's call overhead dominates on ≤ 12 points. They mirror scipy's own arithmetic step for step
# (tests/insights/test_trends_stats.py compares them with scipy on random series).
_STANDARD_NORMAL = statistics.NormalDist()


def _repeat_counts(values: Sequence[float]) -> list[int]:
    """How often each repeated value occurs (scipy's `_find_repeats`), for the tie corrections."""
    return [count for count in Counter(values).values() if count > 1]


def _tie_term(counts: Iterable[int]) -> int:
    return sum(t * (t - 1) * (2 * t + 5) for t in counts)


def _pairwise_slopes(xs: list[float], ys: list[float]) -> list[float]:
    """Every slope (yᵢ - yⱼ)/(xᵢ - xⱼ) with xᵢ > xⱼ, sorted (scipy's own arithmetic and order of operands)."""
    n = len(ys)
    return sorted((ys[i] - ys[j]) / (xs[i] - xs[j]) for i in range(n) for j in range(n) if xs[i] - xs[j] > 0)


def theil_sen_slope(x: Sequence[float], y: Sequence[float]) -> float | None:
    """`theil_sen(x, y)["slope"]` without the intercept and interval (the client list's direction)."""
    if len(y) < 2:
        return None
    slopes = _pairwise_slopes([float(v) for v in x], [float(v) for v in y])
    return statistics.median(slopes) if slopes else math.nan


def theil_sen(x: Sequence[float], y: Sequence[float], confidence: float = 0.95) -> dict:
    """Theil-Sen slope (median of pairwise slopes), intercept median(y) - slope·median(x), and the
    slope's confidence interval by Sen (1968, eq. 2.6) with tie corrections in x and y — the method
    and rounding of `scipy.stats.theilslopes(y, x, alpha=confidence)`."""
    n = len(y)
    if n < 2:
        return {"slope": None, "intercept": None, "low": None, "high": None, "n": n}
    xs, ys = [float(v) for v in x], [float(v) for v in y]
    slopes = _pairwise_slopes(xs, ys)
    slope = statistics.median(slopes) if slopes else math.nan
    intercept = statistics.median(ys) - slope * statistics.median(xs)
    alpha = 1.0 - confidence if confidence > 0.5 else confidence
    z = _STANDARD_NORMAL.inv_cdf(alpha / 2.0)
    sigsq = 1 / 18.0 * (n * (n - 1) * (2 * n + 5) - _tie_term(_repeat_counts(xs)) - _tie_term(_repeat_counts(ys)))
    try:
        sigma = math.sqrt(sigsq)
        upper = min(round((len(slopes) - z * sigma) / 2.0), len(slopes) - 1)
        lower = max(round((len(slopes) + z * sigma) / 2.0) - 1, 0)
        low, high = slopes[lower], slopes[upper]
    except (ValueError, IndexError):  # a negative variance or no slopes: no interval, as in scipy
        low = high = math.nan
    return {"slope": slope, "intercept": intercept, "low": low, "high": high, "n": n}


def mann_kendall_s(y: Sequence[float]) -> int:
    """S = Σ_{i<j} sign(yⱼ - yᵢ) for a series in time order."""
    values = [float(v) for v in y]
    return sum(
        (values[j] > values[i]) - (values[j] < values[i]) for i in range(len(values)) for j in range(i + 1, len(values))
    )


def mann_kendall_variance(y: Sequence[float]) -> float:
    """Var(S) under H₀ with the tie correction: [n(n-1)(2n+5) - Σ t(t-1)(2t+5)] / 18."""
    n = len(y)
    return (n * (n - 1) * (2 * n + 5) - _tie_term(_repeat_counts([float(v) for v in y]))) / 18.0


def mann_kendall(
    y: Sequence[float],
    *,
    min_n: int = DEFAULT_CONFIG.mann_kendall_min_n,
    alpha: float = DEFAULT_CONFIG.alpha,
    continuity_correction: bool = True,
) -> dict:
    """Mann-Kendall trend test: S, Z (continuity-corrected by default) and the two-sided p.

    Under `min_n` points the result is `descriptive`: S is reported, Z and p are not, because the
    normal approximation is meaningless for so few points."""
    n = len(y)
    s = mann_kendall_s(y)
    result = {"n": n, "s": s, "z": None, "p": None, "trend": None, "method": "descriptive"}
    if n < min_n:
        return result
    variance = mann_kendall_variance(y)
    if variance <= 0:  # every value tied: no evidence of any trend
        z = 0.0
    else:
        shift = (1 if s > 0 else -1 if s < 0 else 0) if continuity_correction else 0
        z = (s - shift) / math.sqrt(variance)
    p = math.erfc(abs(z) / math.sqrt(2))  # two-sided: 2·(1 - Φ(|z|)), without scipy (see theil_sen)
    trend = "no_trend"
    if p < alpha:
        trend = "increasing" if z > 0 else "decreasing"
    result.update(z=float(z), p=p, trend=trend, method="mann_kendall")
    return result


def reliable_change(
    *, baseline: float, now: float, sd: float, r: float, threshold: float = DEFAULT_CONFIG.rci_threshold
) -> dict:
    """Jacobson & Truax (1991): SEdiff = SD·√2·√(1 - r), RC = (now - baseline) / SEdiff.

    Reliable when |RC| > threshold (1.96: a change this large would arise from measurement error
    alone in under 5% of cases). For these dimensions higher is worse, so RC > 0 is worsening."""
    se_diff = sd * math.sqrt(2) * math.sqrt(1 - r)
    rc = (now - baseline) / se_diff
    reliable = abs(rc) > threshold
    change = "no_reliable_change"
    if reliable:
        change = "worsened" if rc > 0 else "improved"
    return {
        "baseline": baseline,
        "now": now,
        "difference": now - baseline,
        "se_diff": se_diff,
        "rc": rc,
        "reliable": reliable,
        "change": change,
    }


def joint_reliable_change(*, rc_anxiety: float, rc_avoidance: float, correlation: float, alpha: float) -> dict:
    """Both RCs at once: χ² = RCᵀ R⁻¹ RC with R = [[1, rho], [rho, 1]] the correlation of the scales.

    Written out, χ² = (a² - 2rhoab + b²) / (1 - rho²); under no true change it follows χ² with 2 degrees
    of freedom, whose survival function is exp(-χ²/2). Reliable when p < alpha."""
    a, b, rho = rc_anxiety, rc_avoidance, correlation
    chi2 = (a * a - 2 * rho * a * b + b * b) / (1 - rho * rho)
    p = math.exp(-chi2 / 2)
    return {"chi2": chi2, "df": 2, "p": p, "alpha": alpha, "correlation": rho, "reliable": p < alpha}


# --- Labels -----------------------------------------------------------------------------------------


def quadrant_label(anxiety: float, avoidance: float, cut: float = DEFAULT_CONFIG.quadrant_cut) -> str:
    """The weekly means' label, by the same rule that labels each check-in."""
    return scoring.quadrant(anxiety=anxiety, avoidance=avoidance, cut=cut)


def quadrant_with_hysteresis(points: Sequence[WeeklyPoint], cut: float = DEFAULT_CONFIG.quadrant_cut) -> dict:
    """The weekly quadrant label, changed only after two consecutive weekly points agree on a new one."""
    result = {"current": None, "since": None, "latest_week": None, "pending": None, "cut": cut, "n": len(points)}
    if not points:
        return result
    current = quadrant_label(points[0].anxiety, points[0].avoidance, cut)
    since = points[0].week_start
    pending: str | None = None
    pending_since: date | None = None
    raw = current
    for point in points[1:]:
        raw = quadrant_label(point.anxiety, point.avoidance, cut)
        if raw == current:
            pending = None
        elif raw == pending:
            current, since, pending = raw, pending_since, None
        else:
            pending, pending_since = raw, point.week_start
    result.update(current=current, since=since.isoformat(), latest_week=raw, pending=pending)
    return result


def direction(
    *,
    n_points: int,
    distance_slope: float | None,
    reliable_worsening: Sequence[str],
    config: TrendConfig = DEFAULT_CONFIG,
) -> dict:
    """improving / stable / worsening / insufficient_data from D's slope and the RCI."""
    base = {
        "n": n_points,
        "min_points": config.direction_min_points,
        "distance_slope_per_week": distance_slope,
        "flat_slope_per_week": config.flat_slope_per_week,
        "reliable_worsening": list(reliable_worsening),
    }
    if n_points < config.direction_min_points or distance_slope is None:
        return {"value": "insufficient_data", "reason": "fewer_than_min_points", **base}
    if reliable_worsening:
        return {"value": "worsening", "reason": "reliable_worsening", **base}
    if distance_slope > config.flat_slope_per_week:
        return {"value": "worsening", "reason": "distance_slope_positive", **base}
    if distance_slope < -config.flat_slope_per_week:
        return {"value": "improving", "reason": "distance_slope_negative", **base}
    return {"value": "stable", "reason": "distance_slope_flat", **base}


# --- Regulation -------------------------------------------------------------------------------------


def _mean(values: Sequence[float]) -> float | None:
    # Plain Python: for the handful of episodes in a week numpy's call overhead dominates.
    return math.fsum(values) / len(values) if values else None


def regulation_statistics(
    episodes: Iterable[Episode],
    families: Mapping[str, str],
    *,
    min_strategy_episodes: int = DEFAULT_CONFIG.min_strategy_episodes,
) -> dict:
    """Episodes, mean intensity before, mean drop, median recovery, co-regulation, family shares and
    per-strategy effectiveness (only strategies with at least `min_strategy_episodes` episodes)."""
    episodes = list(episodes)
    before = [e.intensity_before for e in episodes if e.intensity_before is not None]
    drops = [
        e.intensity_before - e.intensity_after
        for e in episodes
        if e.intensity_before is not None and e.intensity_after is not None
    ]
    recovery = [e.recovery_minutes for e in episodes if e.recovery_minutes is not None]
    answered = [e.reached_out for e in episodes if e.reached_out is not None]

    uses: Counter[str] = Counter()
    per_strategy_drops: dict[str, list[int]] = defaultdict(list)
    per_strategy_episodes: Counter[str] = Counter()
    for episode in episodes:
        codes = {code for code in episode.strategies or () if isinstance(code, str)}
        drop = (
            episode.intensity_before - episode.intensity_after
            if episode.intensity_before is not None and episode.intensity_after is not None
            else None
        )
        for code in codes:
            uses[families.get(code, "other")] += 1
            per_strategy_episodes[code] += 1
            if drop is not None:
                per_strategy_drops[code].append(drop)
    total_uses = sum(uses.values())
    family_names = sorted(set(families.values()) | set(uses))
    family_share = {name: (_round(uses[name] / total_uses) if total_uses else None) for name in family_names}

    strategies = [
        {
            "strategy": code,
            "family": families.get(code, "other"),
            "episodes": count,
            "mean_drop": _round(_mean(per_strategy_drops[code])),
            "n_with_drop": len(per_strategy_drops[code]),
        }
        for code, count in sorted(per_strategy_episodes.items(), key=lambda item: (-item[1], item[0]))
        if count >= min_strategy_episodes
    ]
    return {
        "episodes": len(episodes),
        "mean_intensity_before": _round(_mean(before)),
        "n_intensity_before": len(before),
        "mean_drop": _round(_mean(drops)),
        "n_drop": len(drops),
        "median_recovery_minutes": _round(float(statistics.median(recovery))) if recovery else None,
        "n_recovery": len(recovery),
        "co_regulation_share": _round(sum(answered) / len(answered)) if answered else None,
        "n_reached_out_answered": len(answered),
        "family_share": family_share,
        "strategy_uses": total_uses,
        "strategies": strategies,
        "min_strategy_episodes": min_strategy_episodes,
    }


# --- Adherence --------------------------------------------------------------------------------------


def adherence(*, done: int, asked: int | None, reason: str | None = None) -> dict:
    """Check-ins done / check-ins the reminder schedule asked for; null while nothing was asked."""
    if not asked:
        return {"value": None, "done": done, "asked": asked, "reason": reason or "no check-ins were asked for"}
    return {"value": _round(min(done, asked) / asked), "done": done, "asked": asked, "reason": reason}


# --- The report -------------------------------------------------------------------------------------


def weekly_point_payload(point: WeeklyPoint, cut: float = DEFAULT_CONFIG.quadrant_cut) -> dict:
    """The JSON of one week's means (also the core of a stored weekly summary)."""
    year, week, _ = point.week_start.isocalendar()
    return {
        "week_start": point.week_start.isoformat(),
        "week": iso_week_label(point.week_start),
        "iso_year": year,
        "iso_week": week,
        "checkins": point.checkins,
        "anxiety": _round(point.anxiety),
        "avoidance": _round(point.avoidance),
        "distance_to_secure": _round(point.distance_to_secure),
        "quadrant": quadrant_label(point.anxiety, point.avoidance, cut),
    }


def instrument_key(point: WeeklyPoint) -> str:
    """The instrument ("code:version") of a per-instrument weekly point."""
    return "+".join(sorted(point.instruments)) or "unknown"


def split_by_instrument(history: Iterable[WeeklyPoint]) -> dict[str, list[WeeklyPoint]]:
    """Weekly points grouped by instrument, each series oldest first: scores of different
    instruments are never averaged together."""
    series: dict[str, list[WeeklyPoint]] = defaultdict(list)
    for point in sorted(history, key=lambda p: p.week_start):
        series[instrument_key(point)].append(point)
    return dict(series)


def _matches(key: str, requested: str) -> bool:
    return key == requested or key.split(":")[0] == requested


def primary_instrument(
    series: Mapping[str, Sequence[WeeklyPoint]],
    window_start: date,
    window_end: date,
    requested: str | None = None,
    checkins_total: Mapping[str, int] | None = None,
) -> tuple[str | None, str]:
    """(instrument key, how it was chosen): the one the user asked for (`code` or `code:version`), else
    the one with the most check-ins inside [window_start, window_end]; ties go to the one with more
    check-ins overall, then the most recently used, then the key's order.

    `checkins_total`: each key's check-ins over the whole history, when `series` holds only part of it
    (the client list reads the first two weeks and the window, see `trend_direction`)."""

    def usage(key: str) -> tuple[int, int, date, str]:
        points = series[key]
        in_window = sum(p.checkins for p in points if window_start <= p.week_start <= window_end)
        total = checkins_total[key] if checkins_total is not None else sum(p.checkins for p in points)
        return in_window, total, max(p.week_start for p in points), key

    candidates = [key for key in series if series[key]]
    how = "most_used"
    if requested:
        asked = [key for key in candidates if _matches(key, requested)]
        if asked:
            candidates, how = asked, "requested"
        else:
            how = "requested_unavailable"
    if not candidates:
        return None, how
    return max(candidates, key=usage), how


def reliable_change_report(
    history: Sequence[WeeklyPoint],
    in_window: Sequence[WeeklyPoint],
    metadata: Mapping | None,
    config: TrendConfig = DEFAULT_CONFIG,
    instrument: str | None = None,
) -> dict:
    """Per-dimension RCI (Jacobson & Truax) and the joint χ² test of one instrument's series."""
    psychometrics = psychometrics_from_metadata(metadata)
    baseline_points = list(history[:2])
    now_points = list(in_window[-2:])
    enough = (
        len(baseline_points) == 2 and len(now_points) == 2 and now_points[0].week_start > baseline_points[-1].week_start
    )
    out: dict = {}
    rcs: dict[str, float] = {}
    for dimension in RCI_DIMENSIONS:
        entry: dict = {
            "method": "jacobson_truax_1991",
            "threshold": config.rci_threshold,
            "baseline_weeks": [p.week_start.isoformat() for p in baseline_points],
            "now_weeks": [p.week_start.isoformat() for p in now_points],
            "rc": None,
            "reliable": None,
            "change": None,
            "sd": None,
            "r": None,
            "r_kind": None,
            "provisional": None,
            "source": None,
            "instrument": instrument,
            "mixed_instruments": False,
            "reason": None,
        }
        reliability = psychometrics.dimensions.get(dimension)
        if not enough:
            entry["reason"] = "needs two baseline weeks and two later weeks with check-ins"
        elif reliability is None:
            entry["reason"] = "the instrument has no SD and r for this dimension"
        else:
            baseline = math.fsum(getattr(p, dimension) for p in baseline_points) / 2
            now = math.fsum(getattr(p, dimension) for p in now_points) / 2
            change = reliable_change(
                baseline=baseline, now=now, sd=reliability.sd, r=reliability.r, threshold=config.rci_threshold
            )
            rcs[dimension] = change["rc"]
            entry.update(
                {k: (_round(v) if isinstance(v, float) else v) for k, v in change.items()},
                sd=reliability.sd,
                r=reliability.r,
                r_kind=reliability.r_kind,
                provisional=reliability.provisional,
                source=reliability.source,
            )
        out[dimension] = entry

    joint: dict = {
        "method": "chi_square_2df",
        "df": 2,
        "alpha": config.alpha,
        "chi2": None,
        "p": None,
        "reliable": None,
        "correlation": None,
        "provisional": None,
        "source": None,
        "reason": None,
    }
    correlation = psychometrics.correlation
    if len(rcs) < len(RCI_DIMENSIONS):
        joint["reason"] = "needs the reliable change of both dimensions"
    elif correlation is None:
        joint["reason"] = "the instrument has no correlation between its scales"
    else:
        result = joint_reliable_change(
            rc_anxiety=rcs["anxiety"], rc_avoidance=rcs["avoidance"], correlation=correlation.r, alpha=config.alpha
        )
        joint.update(
            chi2=_round(result["chi2"]),
            p=_round(result["p"], 6),
            reliable=result["reliable"],
            correlation=correlation.r,
            provisional=correlation.provisional or any(psychometrics.dimensions[d].provisional for d in RCI_DIMENSIONS),
            source=correlation.source,
        )
    out["joint"] = joint
    return out


def _instrument_ref(key: str | None) -> dict:
    if key is None:
        return {"key": None, "code": None, "version": None}
    code, _, version = key.partition(":")
    return {"key": key, "code": code, "version": int(version) if version.isdigit() else None}


def _direction_of(n_points: int, distance_slope: float | None, rci: Mapping[str, dict], config: TrendConfig) -> dict:
    """The report's `direction` from D's slope and the RCI (shared by `trend_report` and `trend_direction`)."""
    worsening = [d for d in RCI_DIMENSIONS if rci[d]["change"] == "worsened"]
    verdict = direction(n_points=n_points, distance_slope=distance_slope, reliable_worsening=worsening, config=config)
    verdict["distance_slope_per_week"] = _round(verdict["distance_slope_per_week"])
    return verdict


def _reliable_worsening(
    baseline_points: Sequence[WeeklyPoint],
    now_points: Sequence[WeeklyPoint],
    psychometrics: Psychometrics,
    config: TrendConfig,
) -> list[str]:
    """The dimensions `reliable_change_report` would mark "worsened": the same means and the same
    `reliable_change` arithmetic, without the report around it."""
    enough = (
        len(baseline_points) == 2 and len(now_points) == 2 and now_points[0].week_start > baseline_points[-1].week_start
    )
    if not enough:
        return []
    worsening = []
    for dimension in RCI_DIMENSIONS:
        reliability = psychometrics.dimensions.get(dimension)
        if reliability is None:
            continue
        change = reliable_change(
            baseline=math.fsum(getattr(p, dimension) for p in baseline_points) / 2,
            now=math.fsum(getattr(p, dimension) for p in now_points) / 2,
            sd=reliability.sd,
            r=reliability.r,
            threshold=config.rci_threshold,
        )
        if change["change"] == "worsened":
            worsening.append(dimension)
    return worsening


def trend_direction(
    *,
    history: Sequence[WeeklyPoint],
    window: Sequence[date],
    psychometrics: Mapping[str, Psychometrics],
    checkins_total: Mapping[str, int],
    config: TrendConfig = DEFAULT_CONFIG,
) -> dict:
    """`trend_report(...)["direction"]` without the rest of the report (the therapist's client list).

    The direction needs only D's Theil-Sen slope over the window's last ≤ 12 points of the primary
    instrument and the reliable change between its first two weeks ever and the window's last two, so
    `history` may hold just those weeks of each instrument (the first two and those from the window's
    start on); `checkins_total` gives each instrument's check-ins over the whole history, which the
    choice of the primary instrument needs; `psychometrics`: `psychometrics_from_metadata` of each
    instrument, parsed once by the caller for all its users. Same functions and arithmetic, so the same
    verdict as the full report (tests/sharing/test_client_directions.py compares them on the same data)."""
    window = list(window)
    window_start, window_end = window[0], window[-1]
    series = split_by_instrument(history)
    primary, _ = primary_instrument(series, window_start, window_end, None, checkins_total)
    points = series.get(primary, []) if primary is not None else []
    in_window = [p for p in points if window_start <= p.week_start <= window_end]
    recent = in_window[-config.slope_max_points :]
    slope = theil_sen_slope(
        [(p.week_start - window_start).days // 7 for p in recent], [p.distance_to_secure for p in recent]
    )
    empty = Psychometrics(dimensions={}, correlation=None)
    worsening = _reliable_worsening(points[:2], in_window[-2:], psychometrics.get(primary or "", empty), config)
    verdict = direction(n_points=len(recent), distance_slope=slope, reliable_worsening=worsening, config=config)
    verdict["distance_slope_per_week"] = _round(verdict["distance_slope_per_week"])
    return verdict


def trend_report(
    *,
    history: Sequence[WeeklyPoint],
    window: Sequence[date],
    episodes: Iterable[Episode],
    families: Mapping[str, str],
    instrument_metadata: Mapping[str, Mapping | None],
    config: TrendConfig = DEFAULT_CONFIG,
    instrument: str | None = None,
    target_series: Mapping[str, TargetSeries] | None = None,
) -> dict:
    """Everything `GET /trends/` shows except adherence and request metadata.

    `history`: every (week, instrument) with check-ins up to the end of the window, one point per
    instrument and week (the EWMA, the RCI baseline and the quadrant hysteresis need the whole
    history); `window`: the requested local Mondays, oldest first; `episodes`: regulation logs inside
    the window; `instrument`: the series the user asked for (`code` or `code:version`).

    The statistics run over the primary instrument's series only (see `primary_instrument`); every
    other instrument used in the window is listed with its own weekly series. `target_series`: the
    per-target series of instruments scored per relationship target (see `TargetSeries`)."""
    window = list(window)
    window_start = window[0]
    target_series = target_series or {}
    series = split_by_instrument(history)

    def in_range(week: date) -> bool:
        return window_start <= week <= window[-1]

    def partial_by_week(key: str | None) -> Mapping[date, int]:
        return target_series[key].partial if key in target_series else {}

    def targets_payload(key: str | None) -> list[dict] | None:
        if key not in target_series:
            return None
        out = []
        for target in target_series[key].targets:
            points = [p for p in target_series[key].points.get(target, ()) if in_range(p.week_start)]
            out.append(
                {
                    "target": target,
                    "checkins": sum(p.checkins for p in points),
                    "weeks": [weekly_point_payload(p, config.quadrant_cut) for p in points],
                }
            )
        return out

    primary, picked = primary_instrument(series, window_start, window[-1], instrument)
    history = series.get(primary, []) if primary is not None else []
    by_week = {p.week_start: p for p in history}
    smoothed = {d: ewma([getattr(p, d) for p in history], config.ewma_lambda) for d in DIMENSIONS}
    ewma_by_week = {p.week_start: {d: _round(smoothed[d][i]) for d in DIMENSIONS} for i, p in enumerate(history)}

    weeks = []
    for week_start in window:
        point = by_week.get(week_start)
        year, week, _ = week_start.isocalendar()
        weeks.append(
            {
                "week_start": week_start.isoformat(),
                "iso_year": year,
                "iso_week": week,
                "checkins": point.checkins if point else 0,
                "partial_checkins": partial_by_week(primary).get(week_start, 0),
                "anxiety": _round(point.anxiety) if point else None,
                "avoidance": _round(point.avoidance) if point else None,
                "distance_to_secure": _round(point.distance_to_secure) if point else None,
                "ewma": ewma_by_week.get(week_start, dict.fromkeys(DIMENSIONS)),
            }
        )
    in_window = [p for p in history if window_start <= p.week_start <= window[-1]]
    trajectory = [
        {"week_start": p.week_start.isoformat(), "anxiety": _round(p.anxiety), "avoidance": _round(p.avoidance)}
        for p in in_window
    ]

    recent = in_window[-config.slope_max_points :]
    x = [(p.week_start - window_start).days // 7 for p in recent]
    slopes = {d: theil_sen(x, [getattr(p, d) for p in recent]) for d in DIMENSIONS}
    kendall = {
        d: mann_kendall([getattr(p, d) for p in recent], min_n=config.mann_kendall_min_n, alpha=config.alpha)
        for d in DIMENSIONS
    }
    rci = reliable_change_report(history, in_window, instrument_metadata.get(primary or ""), config, primary)
    trend_direction = _direction_of(len(recent), slopes["distance_to_secure"]["slope"], rci, config)

    others = []
    for key in sorted(set(series) | set(target_series)):
        points = [p for p in series.get(key, ()) if in_range(p.week_start)]
        partial = sum(n for week, n in partial_by_week(key).items() if in_range(week))
        if key == primary or not (points or partial):
            continue
        others.append(
            {
                **_instrument_ref(key),
                "checkins": sum(p.checkins for p in points),
                "partial_checkins": partial,
                "weeks": [weekly_point_payload(p, config.quadrant_cut) for p in points],
                "targets": targets_payload(key),
            }
        )

    return {
        "instrument": {
            **_instrument_ref(primary),
            "picked": picked,
            "requested": instrument,
            "checkins": sum(p.checkins for p in in_window),
            "partial_checkins": sum(n for week, n in partial_by_week(primary).items() if in_range(week)),
            "targets": targets_payload(primary),
        },
        "other_instruments": others,
        "weeks": weeks,
        "trajectory": trajectory,
        "statistics": {
            "slope": {
                "method": "theil_sen",
                "n": len(recent),
                "max_points": config.slope_max_points,
                "unit": "scale points per week",
                "confidence": 0.95,
                "per_week": {d: _round(slopes[d]["slope"]) for d in DIMENSIONS},
                "intercept": {d: _round(slopes[d]["intercept"]) for d in DIMENSIONS},
                "confidence_interval": {d: [_round(slopes[d]["low"]), _round(slopes[d]["high"])] for d in DIMENSIONS},
                "first_week": recent[0].week_start.isoformat() if recent else None,
                "last_week": recent[-1].week_start.isoformat() if recent else None,
            },
            "mann_kendall": {
                "method": "mann_kendall" if len(recent) >= config.mann_kendall_min_n else "descriptive",
                "n": len(recent),
                "min_n": config.mann_kendall_min_n,
                "alpha": config.alpha,
                "two_sided": True,
                "tie_correction": True,
                "continuity_correction": True,
                "results": {
                    d: {
                        k: (_round(v, 6) if isinstance(v, float) else v)
                        for k, v in kendall[d].items()
                        if k not in ("n", "method")
                    }
                    for d in DIMENSIONS
                },
            },
            "reliable_change": rci,
        },
        "direction": trend_direction,
        "quadrant": {
            **quadrant_with_hysteresis(history, config.quadrant_cut),
            "rule": "changes after two consecutive weeks",
            "boundary": f"secure exactly when both dimensions are <= {config.quadrant_cut} (distance to secure 0)",
        },
        "regulation": regulation_statistics(episodes, families, min_strategy_episodes=config.min_strategy_episodes),
    }


EXPLANATIONS = {
    "weeks": "Each week runs Monday to Sunday on your own clock; the numbers average that week's check-ins.",
    "ewma": "Smoothed: each week counts 30%, the earlier smoothed value 70%, so one odd week cannot swing it far.",
    "slope": "How much the score changes per week: the median of all pairwise changes, robust to outliers.",
    "mann_kendall": (
        "Whether later weeks tend to be higher or lower than earlier ones; with fewer than 6 weeks it only describes."
    ),
    "reliable_change": (
        "Whether the change since your first two weeks is larger than the questionnaire's measurement error."
    ),
    "direction": "Improving when your distance from secure is shrinking and nothing reliably got worse.",
    "quadrant": (
        "Where your averages sit on the anxiety x avoidance plane: a tendency, never a diagnosis. "
        "It changes only after two weeks in a row."
    ),
    "regulation": "How strong feelings were before, how much they dropped, and which kinds of strategies you used.",
    "adherence": "Check-ins done compared to the check-ins your reminders asked for.",
}


def report_metadata(config: TrendConfig = DEFAULT_CONFIG) -> dict:
    return {
        "ewma_lambda": config.ewma_lambda,
        "slope_method": "theil_sen",
        "slope_max_points": config.slope_max_points,
        "trend_test": "mann_kendall",
        "mann_kendall_min_n": config.mann_kendall_min_n,
        "alpha": config.alpha,
        "rci_method": "jacobson_truax_1991",
        "rci_threshold": config.rci_threshold,
        "direction_min_points": config.direction_min_points,
        "flat_slope_per_week": config.flat_slope_per_week,
        "quadrant_cut": config.quadrant_cut,
        "min_strategy_episodes": config.min_strategy_episodes,
        "explanations": EXPLANATIONS,
    }
