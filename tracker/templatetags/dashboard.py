from django import template

from tracker.insights.contracts import WeekOverWeek, weekly_summary_payload
from tracker.models import WeeklySummary

register = template.Library()


@register.filter
def code_label(value) -> str:
    """A taxonomy code as words: "support_seeking" → "support seeking"."""
    return str(value).replace("_", " ")


WEEK_OVER_WEEK_LABELS: dict[WeekOverWeek, str] = {
    "closer_to_secure": "closer to secure than the week before",
    "steady": "about the same as the week before",
    "further_from_secure": "further from secure than the week before",
    "no_comparison": "no comparison with the week before",
}


@register.filter
def summary_row(summary: WeeklySummary) -> dict:
    """One line of the summaries card, read from the payload's contract (older payloads lack some keys)."""
    payload = weekly_summary_payload(summary.payload) or {}
    regulation = payload.get("regulation") or {}
    return {
        "iso_week": summary.iso_week,
        "iso_year": summary.iso_year,
        "week_start": summary.week_start,
        "checkins": payload.get("checkins"),
        "instrument": payload.get("instrument"),  # schema 4+: the instrument the figures come from
        "week_over_week": WEEK_OVER_WEEK_LABELS.get(payload.get("week_over_week")),
        "episodes": regulation.get("episodes"),
    }


def _fmt(value, digits: int = 2) -> str:
    return f"{value:.{digits}f}"


@register.filter
def summary_lines(summary: WeeklySummary) -> list[str]:
    """A stored weekly summary as plain lines for the dashboard's summary page (older payloads lack keys)."""
    payload = weekly_summary_payload(summary.payload) or {}
    lines: list[str] = []
    checkins = payload.get("checkins")
    if checkins is not None:
        lines.append(f"{checkins} check-in{'' if checkins == 1 else 's'}." if checkins else "No check-ins this week.")
    if payload.get("instrument"):
        # Schema 4+: the figures below are this instrument's only (instruments are never averaged together).
        lines.append(f"Figures from the {payload['instrument']} check-ins (the week's most used instrument).")
    if payload.get("anxiety") is not None and payload.get("avoidance") is not None:
        line = f"Mean anxiety {_fmt(payload['anxiety'])}, mean avoidance {_fmt(payload['avoidance'])}"
        if payload.get("quadrant"):
            line += f": the week's position is {payload['quadrant']}"
        lines.append(line + ".")
    if payload.get("distance_to_secure") is not None:
        lines.append(f"Mean distance to secure over the week's check-ins: {_fmt(payload['distance_to_secure'])}.")
    week_over_week = WEEK_OVER_WEEK_LABELS.get(payload.get("week_over_week"))
    if week_over_week:
        change = payload.get("distance_change")
        lines.append(f"Distance to secure: {week_over_week}" + (f" ({change:+.2f})." if change is not None else "."))
    if "tendency" in payload:
        tendency = payload.get("tendency")
        lines.append(
            f"Settled tendency: {tendency} (this week and the week before agree)."
            if tendency
            else "Settled tendency: not settled yet (it needs this week and the week before in the same quadrant)."
        )
    if "safety_flags" in payload:
        flags = payload.get("safety_flags") or 0
        lines.append(f"Safety flags: {flags}." if flags else "Safety flags: none.")
    regulation = payload.get("regulation") or {}
    if regulation.get("episodes"):
        line = f"{regulation['episodes']} regulation episode{'' if regulation['episodes'] == 1 else 's'}"
        if regulation.get("mean_drop") is not None:
            line += f", mean drop in intensity {_fmt(regulation['mean_drop'], 1)}"
        if regulation.get("median_recovery_minutes") is not None:
            line += f", median recovery {_fmt(regulation['median_recovery_minutes'], 0)} minutes"
        lines.append(line + ".")
    elif "regulation" in payload:
        lines.append("No regulation episodes logged.")
    return lines
