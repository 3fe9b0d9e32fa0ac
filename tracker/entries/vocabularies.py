"""The fixed vocabularies of regulation logs: triggers, relationship targets, emotions, strategies.

Served by `GET /api/v1/vocabularies/` so phones build their pickers from the server. Codes are stable
and never reused; entries are only ever added (with `since`, the vocabulary version that added them),
so an old phone keeps working and a new one can show what an old log means. Other code (trends, the
therapist dashboard) imports `STRATEGY_FAMILY` to group strategies.

Strategy families follow Naragon-Gainey, McMahon & Chacko (2017) plus attachment-specific
interpersonal and self-soothing families (DESIGN §5)."""

from __future__ import annotations

from types import MappingProxyType

VERSION = 1

TRIGGERS = MappingProxyType(
    {
        "conflict": "Conflict or argument",
        "separation": "Separation or distance",
        "rejection": "Feeling rejected or left out",
        "criticism": "Criticism",
        "uncertainty": "Uncertainty or waiting for a reply",
        "reminder_of_past": "A reminder of the past",
        "other": "Something else",
    }
)

TRIGGER_TARGETS = MappingProxyType(
    {
        "partner": "Partner",
        "parent": "Parent",
        "friend": "Friend",
        "colleague": "Colleague",
        "therapist": "Therapist",
        "other": "Someone else",
    }
)

EMOTIONS = MappingProxyType(
    {
        "fear": "Fear",
        "anxiety": "Anxiety",
        "sadness": "Sadness",
        "anger": "Anger",
        "shame": "Shame",
        "guilt": "Guilt",
        "loneliness": "Loneliness",
        "jealousy": "Jealousy",
        "hurt": "Hurt",
        "emptiness": "Emptiness or numbness",
        "overwhelm": "Overwhelm",
        "relief": "Relief",
    }
)

STRATEGY_FAMILIES = MappingProxyType(
    {
        "engagement": "Engaging with it",
        "disengagement": "Stepping away from it",
        "perseveration": "Going over it",
        "interpersonal": "With other people",
        "self_soothing": "Calming the body",
    }
)

# code -> (family, label)
STRATEGIES = MappingProxyType(
    {
        "reappraisal": ("engagement", "Seeing it another way"),
        "problem_solving": ("engagement", "Working on the problem"),
        "acceptance": ("engagement", "Letting the feeling be there"),
        "reflection": ("engagement", "Reflecting or journaling"),
        "distraction": ("disengagement", "Distracting myself"),
        "suppression": ("disengagement", "Pushing the feeling down"),
        "avoidance": ("disengagement", "Avoiding the situation"),
        "rumination": ("perseveration", "Going over it again and again"),
        "worry": ("perseveration", "Worrying about what comes next"),
        "support_seeking": ("interpersonal", "Talking to someone"),
        "reassurance_seeking": ("interpersonal", "Asking for reassurance"),
        "withdrawal": ("interpersonal", "Withdrawing from people"),
        "breathing": ("self_soothing", "Slow breathing"),
        "movement": ("self_soothing", "Moving my body"),
    }
)

STRATEGY_FAMILY = MappingProxyType({code: family for code, (family, _) in STRATEGIES.items()})

INTENSITY_MIN, INTENSITY_MAX = 0, 10


def strategies_by_family(codes: list[str]) -> dict[str, int]:
    """How many of `codes` fall in each family (every family present, unknown codes ignored)."""
    counts = dict.fromkeys(STRATEGY_FAMILIES, 0)
    for code in codes:
        family = STRATEGY_FAMILY.get(code)
        if family is not None:
            counts[family] += 1
    return counts


def as_payload() -> dict:
    """The vocabularies as served to phones."""

    def entries(mapping) -> list[dict]:
        return [{"code": code, "label": label, "since": 1} for code, label in mapping.items()]

    return {
        "version": VERSION,
        "triggers": entries(TRIGGERS),
        "trigger_targets": entries(TRIGGER_TARGETS),
        "emotions": entries(EMOTIONS),
        "strategy_families": [
            {
                "code": family,
                "label": label,
                "strategies": [
                    {"code": code, "label": s_label, "since": 1}
                    for code, (s_family, s_label) in STRATEGIES.items()
                    if s_family == family
                ],
            }
            for family, label in STRATEGY_FAMILIES.items()
        ],
        "intensity": {"min": INTENSITY_MIN, "max": INTENSITY_MAX},
    }
