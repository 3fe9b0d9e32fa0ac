"""What nudges and summary notifications say.

Gentle, varied, never alarming, and free of health data: push and email travel through third parties
and land on lock screens, so they only ever say that something is waiting. The richer summary line is
shown inside the app (the inbox), behind the user's login."""

from __future__ import annotations

from datetime import date
from typing import Any

from tracker.common.weeks import iso_week_label

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

SUMMARY_TITLE = "Your week in review"
SUMMARY_PUSH_BODY = "Your weekly summary is ready."

_DIRECTION_LINES = {
    "improving": "This week your check-ins leaned a little more toward secure.",
    "stable": "This week looked steady.",
    # Never alarming: a harder week is named gently and without numbers.
    "worsening": "This week seems to have asked a lot of you. Be gentle with yourself.",
    "insufficient_data": "A few more check-ins will help your summary say more.",
}
NEUTRAL_SUMMARY_LINE = "Your weekly summary is ready to look at."


def nudge_text(*, sent_count: int, user_offset: int) -> tuple[str, str]:
    return NUDGE_TEXTS[(sent_count + user_offset) % len(NUDGE_TEXTS)]


def summary_deep_link(*, week_start: date) -> str:
    """The app's link to one summary, named like `GET summaries/{week}/` (e.g. 2026-W47)."""
    return f"securebase://summaries/{iso_week_label(week_start)}"


def _find(payload: Any, *paths: tuple[str, ...]) -> Any:
    """The first value found at any of the key paths, tolerating missing keys and odd types."""
    for path in paths:
        value = payload
        for key in path:
            if not isinstance(value, dict) or key not in value:
                value = None
                break
            value = value[key]
        if value is not None:
            return value
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def summary_line(payload: Any) -> str:
    """A short plain-language line for the in-app summary notification.

    The payload is written by the trends job and its shape may evolve, so every key is optional:
    `direction` (top level, or under `trend`/`statistics`) and a regulation highlight (`regulation`
    with `episodes` and `mean_drop`). Anything unexpected falls back to a neutral line."""
    parts: list[str] = []
    direction = _find(payload, ("direction",), ("trend", "direction"), ("statistics", "direction"))
    if isinstance(direction, dict):
        direction = direction.get("label") or direction.get("direction")
    if isinstance(direction, str) and direction in _DIRECTION_LINES:
        parts.append(_DIRECTION_LINES[direction])

    regulation = _find(payload, ("regulation",))
    if isinstance(regulation, dict):
        episodes = _number(regulation.get("episodes"))
        drop = _number(regulation.get("mean_drop"))
        if episodes and drop is not None and drop > 0:
            parts.append("The ways you calmed yourself seemed to help.")
        reached = _number(regulation.get("reached_out_share"))
        if episodes and reached is not None and reached > 0:
            parts.append("Reaching out to someone was part of your week.")
    return " ".join(parts[:2]) if parts else NEUTRAL_SUMMARY_LINE
