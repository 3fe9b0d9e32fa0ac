"""What nudges and summary notifications say.

Gentle, varied, never alarming, and free of health data: push and email travel through third parties
and land on lock screens, so they only ever say that something is waiting. The richer summary line is
shown inside the app (the inbox), behind the user's login."""

from __future__ import annotations

from datetime import date
from typing import Any

from tracker.common.weeks import iso_week_label
from tracker.insights.contracts import WeekOverWeek, weekly_summary_payload

NUDGE_DEEP_LINK = "securebase://checkins/new"

# (title, body). Rotated per user by how many nudges they have had, so consecutive ones differ.
NUDGE_TEXTS: tuple[tuple[str, str], ...] = (
    ("A moment for you", "Time for a check-in, whenever it suits you."),
    ("Checking in", "When you have a minute, a short check-in is waiting."),
    ("A gentle reminder", "A quick check-in can help you notice how you are doing."),
    ("Pause and notice", "Take a breath. Your check-in is here whenever you are ready."),
    ("Your check-in", "No pressure: a short check-in, whenever you like."),
    ("A small pause", "How are you, really? The check-in takes about a minute."),
)

# The one re-reminder for a prompt still unanswered (notifications.services.rereminders).
NUDGE_AGAIN_TEXT = ("Still time", "Your check-in from earlier is still open, if you have a minute.")

SUMMARY_TITLE = "Your week in review"
SUMMARY_PUSH_BODY = "Your weekly summary is ready."

# One line per `week_over_week` value the summary producer writes (tracker.insights.contracts).
WEEK_OVER_WEEK_LINES: dict[WeekOverWeek, str] = {
    "closer_to_secure": "This week your check-ins leaned a little more toward secure.",
    "steady": "This week looked steady.",
    # Never alarming: a harder week is named gently and without numbers.
    "further_from_secure": "This week seems to have asked a lot of you. Be gentle with yourself.",
    "no_comparison": "A few more check-ins will help your summary say more.",
}
CALMING_HELPED_LINE = "The ways you calmed yourself seemed to help."
REACHED_OUT_LINE = "Reaching out to someone was part of your week."
NEUTRAL_SUMMARY_LINE = "Your weekly summary is ready to look at."


def nudge_text(*, sent_count: int, user_offset: int) -> tuple[str, str]:
    return NUDGE_TEXTS[(sent_count + user_offset) % len(NUDGE_TEXTS)]


def summary_deep_link(*, week_start: date) -> str:
    """The app's link to one summary, named like `GET summaries/{week}/` (e.g. 2026-W47)."""
    return f"securebase://summaries/{iso_week_label(week_start)}"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def summary_lines(payload: Any) -> list[str]:
    """Every line the payload supports, in order: the week compared with the previous one, then the
    regulation highlights (strategies that lowered intensity, reaching out to someone).

    Reads the keys of `WeeklySummaryPayload`, the type the summary producer builds. Stored JSON of an
    older schema (no `week_over_week`) or anything malformed just yields fewer lines."""
    summary = weekly_summary_payload(payload)
    if summary is None:
        return []
    lines: list[str] = []
    direction = summary.get("week_over_week")
    if isinstance(direction, str) and direction in WEEK_OVER_WEEK_LINES:
        lines.append(WEEK_OVER_WEEK_LINES[direction])
    regulation = summary.get("regulation")
    if isinstance(regulation, dict):
        episodes = _number(regulation.get("episodes"))
        drop = _number(regulation.get("mean_drop"))
        flagged = _number(summary.get("safety_flags"))
        # Never praise regulation in a week that raised a safety flag.
        if episodes and drop is not None and drop > 0 and not flagged:
            lines.append(CALMING_HELPED_LINE)
        reached = _number(regulation.get("co_regulation_share"))
        if episodes and reached is not None and reached > 0:
            lines.append(REACHED_OUT_LINE)
    return lines


def summary_line(payload: Any) -> str:
    """A short plain-language line for the in-app summary notification: at most two of
    `summary_lines`, or a neutral line when the payload supports none."""
    lines = summary_lines(payload)
    return " ".join(lines[:2]) if lines else NEUTRAL_SUMMARY_LINE
