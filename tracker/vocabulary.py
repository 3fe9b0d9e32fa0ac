"""Controlled vocabularies shared by check-ins, regulation logs and trends.

`STRATEGY_FAMILIES` maps each regulation strategy code to its family (Naragon-Gainey et al. 2017,
plus the attachment-specific interpersonal and self-soothing families of DESIGN §5). It is a plain
dict on purpose, so the regulation-log issue's own taxonomy module can replace or merge it."""

STRATEGY_FAMILIES: dict[str, str] = {
    "reappraisal": "engagement",
    "problem_solving": "engagement",
    "acceptance": "engagement",
    "reflection": "engagement",
    "distraction": "disengagement",
    "suppression": "disengagement",
    "avoidance": "disengagement",
    "rumination": "perseveration",
    "worry": "perseveration",
    "support_seeking": "interpersonal",
    "reassurance_seeking": "interpersonal",
    "withdrawal": "interpersonal",
    "breathing": "self_soothing",
    "movement": "self_soothing",
}
