"""What each alert rule reads and when it holds: plain functions over data the job fetched in bulk.

The statistics are the trend engine's own (tracker.insights.trends via
`shared_data.trend_reports_for_clients`): a rule never recomputes a reliable change, it reads the
report the client page shows, so an alert and the page cannot disagree."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from django.conf import settings

from tracker.alerts.models import AlertKind
from tracker.sharing.models import Scope


@dataclass(frozen=True)
class RuleSpec:
    kind: str
    scopes: tuple[str, ...]  # the rule reads data of any of these scopes (none shared: it never holds)

    def describe(self) -> str:
        """The client-facing sentence for the rule, with its current parameter."""
        return {
            AlertKind.SAFETY_FLAG: "A check-in or regulation log you share raises a safety flag.",
            AlertKind.RELIABLE_WORSENING: (
                "Your anxiety or avoidance, or both together, worsen by more than measurement error explains "
                "(reliable change between your first two and your latest two weeks)."
            ),
            AlertKind.NO_CHECKIN: f"No check-in for {settings.ALERT_NO_CHECKIN_DAYS} days.",
            AlertKind.DISTANCE_RISING: (
                f"Your weekly distance to secure rises {settings.ALERT_DISTANCE_RISING_WEEKS} weeks in a row."
            ),
        }[self.kind]

    @property
    def label(self) -> str:
        return AlertKind(self.kind).label


RULES: dict[str, RuleSpec] = {
    spec.kind: spec
    for spec in (
        RuleSpec(AlertKind.SAFETY_FLAG, (Scope.CHECKINS, Scope.REGULATION_LOGS)),
        RuleSpec(AlertKind.RELIABLE_WORSENING, (Scope.CHECKINS,)),
        RuleSpec(AlertKind.NO_CHECKIN, (Scope.CHECKINS,)),
        RuleSpec(AlertKind.DISTANCE_RISING, (Scope.CHECKINS,)),
    )
}


def reliable_worsening(report: dict) -> bool:
    """Either dimension's RC reliably positive (worse), or the joint χ² test reliable with the
    combined change pointing to worse (the χ² test is two-sided: it finds change, not its sign)."""
    rci = report["statistics"]["reliable_change"]
    if any(rci[dimension]["change"] == "worsened" for dimension in ("anxiety", "avoidance")):
        return True
    joint = rci["joint"]
    if not joint["reliable"]:
        return False
    return (rci["anxiety"]["rc"] or 0) + (rci["avoidance"]["rc"] or 0) > 0


def distance_rising(report: dict, *, weeks: int) -> bool:
    """The last `weeks` + 1 weekly means of D (weeks with check-ins, in the report's window) each
    above the one before."""
    values = [week["distance_to_secure"] for week in report["weeks"] if week["distance_to_secure"] is not None]
    if len(values) < weeks + 1:
        return False
    tail = values[-(weeks + 1) :]
    return all(later > earlier for earlier, later in itertools.pairwise(tail))
