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
        "week_over_week": WEEK_OVER_WEEK_LABELS.get(payload.get("week_over_week")),
        "episodes": regulation.get("episodes"),
    }
