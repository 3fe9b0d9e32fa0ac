"""The typed contracts of the insights package: what its producers write and every reader reads.

`WeeklySummaryPayload` is the stored JSON of one `WeeklySummary` row. `tracker.insights.services`
builds it (`summary_payload`); the notification text (`notifications.content`), the summaries API
serializer (`tracker.insights.api.views`, also used by the export and the therapist API) and the
therapist dashboard read it through these names, so a key the producer does not write cannot be read
by accident (mypy/pyright see it, and the serializer test compares the declared fields to this type).

`RegulationFigures` is the shape of `trends.regulation_statistics`, shared by the weekly summary and
the trends report.

Stored rows outlive code: a payload of an older `schema` may lack keys added later (they are
`NotRequired` here), so readers use `.get` for those.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

WEEKLY_SUMMARY_SCHEMA = 4

# How this week's mean distance to secure compares with the previous week's (both need check-ins).
WeekOverWeek = Literal["closer_to_secure", "steady", "further_from_secure", "no_comparison"]
WEEK_OVER_WEEK_VALUES: tuple[WeekOverWeek, ...] = ("closer_to_secure", "steady", "further_from_secure", "no_comparison")


class StrategyEffect(TypedDict):
    strategy: str
    family: str
    episodes: int
    mean_drop: float | None
    n_with_drop: int


class RegulationFigures(TypedDict):
    episodes: int
    mean_intensity_before: float | None
    n_intensity_before: int
    mean_drop: float | None
    n_drop: int
    median_recovery_minutes: float | None
    n_recovery: int
    co_regulation_share: float | None
    n_reached_out_answered: int
    family_share: dict[str, float | None]
    strategy_uses: int
    strategies: list[StrategyEffect]
    min_strategy_episodes: int


class WeeklySummaryPayload(TypedDict):
    schema: int
    week_start: str  # ISO date of the local Monday
    week: str  # ISO week label, e.g. 2026-W47
    iso_year: int
    iso_week: int
    checkins: int  # every check-in of the week, all instruments (partial ECR-RS ones included)
    # Since schema 4: the code of the week's primary instrument (most check-ins counted in the means;
    # tie: the default instrument, then code order). The means, quadrant, week_over_week and tendency
    # are that instrument's alone (instruments are never averaged together); null without figures.
    instrument: NotRequired[str | None]
    anxiety: float | None  # the primary instrument's means; null in a week with regulation logs only
    avoidance: float | None
    distance_to_secure: float | None
    quadrant: str | None
    quadrant_cut: float
    # Since schema 2: this week's mean distance to secure minus the previous week's (null without both;
    # since schema 4 both are the primary instrument's, no comparison when it was not used the week before).
    distance_change: NotRequired[float | None]
    week_over_week: NotRequired[WeekOverWeek]
    # Since schema 3: the settled tendency under the two-week rule (the quadrant of this week when the
    # previous week fell in the same one, else null), and how many check-ins and logs that week
    # carried a safety flag (no praise of regulation is sent for such a week).
    tendency: NotRequired[str | None]
    safety_flags: NotRequired[int]
    regulation: RegulationFigures


def weekly_summary_payload(value: Any) -> WeeklySummaryPayload | None:
    """A stored payload as the contract type, or None when it is not even a JSON object.

    Stored JSON is data, not code: readers that must never fail (the notification text) call this
    and then read the keys of the contract."""
    return value if isinstance(value, dict) else None  # type: ignore[return-value]
