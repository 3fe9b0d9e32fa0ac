"""Scoring of attachment questionnaires on the two working-model dimensions (pure functions, no Django).

An instrument definition (tracker/entries/instruments/*.json) is turned into a `ScoringKey`; `score()` maps a
complete set of item responses to `Scores`:

- `dimensions`: each item belongs to `anxiety` or `avoidance`; reverse-keyed items count as
  `(min + max) - x`; a dimension score is the mean of its (keyed) items (ECR-R, ECR-S, our own).
- `per_target`: the same, once per relationship target (ECR-RS). Each answered target gets its own
  score set; the check-in's headline scores are the mean over the targets, the "global" score of the
  ECR-RS literature only when every target was answered (else `extra["partial"]` is true).
- `rq`: four prototype ratings (secure, fearful, preoccupied, dismissing). Model of self =
  (secure + dismissing) - (fearful + preoccupied), model of others = (secure + preoccupied) -
  (fearful + dismissing), each -12…+12 on a 1-7 scale (Griffin & Bartholomew 1994). To place RQ on
  the same plane as the ECR family they are mapped linearly onto the scale (our convention, not a
  published conversion): anxiety = 4 - self/4 and avoidance = 4 - others/4, so +12 ↦ 1 and -12 ↦ 7.

Every family shares: `self_model = (min + max) - anxiety`, `other_model = (min + max) - avoidance`
(8 - x on 1-7), the quadrant at cut `c` and the distance to the secure quadrant
`D = sqrt(max(0, avoidance - c)² + max(0, anxiety - c)²)`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

DIMENSIONS = ("anxiety", "avoidance")
RQ_PROTOTYPES = ("secure", "fearful", "preoccupied", "dismissing")
SCORING_METHODS = ("dimensions", "per_target", "rq")
QUADRANTS = ("secure", "preoccupied", "dismissing", "fearful")
DEFAULT_CUT = 4.0


class ScoringError(ValueError):
    """A response set or definition that cannot be scored; `field` names what is wrong."""

    def __init__(self, message: str, field: str = "responses"):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class KeyedItem:
    number: int
    dimension: str  # anxiety | avoidance | one of RQ_PROTOTYPES
    reverse: bool = False


@dataclass(frozen=True)
class ScoringKey:
    code: str
    version: int
    method: str
    scale_min: int
    scale_max: int
    items: tuple[KeyedItem, ...]
    targets: tuple[str, ...] = ()

    @property
    def item_numbers(self) -> frozenset[int]:
        return frozenset(item.number for item in self.items)

    @property
    def midpoint_sum(self) -> int:
        """`min + max`: what a reverse-keyed answer and a model score are mirrored around."""
        return self.scale_min + self.scale_max


@dataclass(frozen=True)
class DimensionScores:
    anxiety: float
    avoidance: float
    self_model: float
    other_model: float
    quadrant: str
    distance_to_secure: float

    def as_dict(self) -> dict:
        return {
            "anxiety": self.anxiety,
            "avoidance": self.avoidance,
            "self_model": self.self_model,
            "other_model": self.other_model,
            "quadrant": self.quadrant,
            "distance_to_secure": self.distance_to_secure,
        }


@dataclass(frozen=True)
class Scores(DimensionScores):
    # Instrument-specific results: {"targets": {target: DimensionScores.as_dict()}} for ECR-RS,
    # {"model_of_self": int, "model_of_others": int} for RQ.
    extra: dict = field(default_factory=dict)


def key_from_definition(definition: Mapping) -> ScoringKey:
    """The scoring-relevant part of an instrument definition; raises ScoringError if inconsistent."""
    method = definition.get("scoring", "dimensions")
    if method not in SCORING_METHODS:
        raise ScoringError(f"unknown scoring method {method!r}", "scoring")
    scale = definition["scale"]
    scale_min, scale_max = int(scale["min"]), int(scale["max"])
    if scale_min >= scale_max:
        raise ScoringError("scale.min must be below scale.max", "scale")
    items = tuple(
        KeyedItem(number=int(item["number"]), dimension=item["dimension"], reverse=bool(item.get("reverse", False)))
        for item in definition["items"]
    )
    numbers = [item.number for item in items]
    if len(set(numbers)) != len(numbers):
        raise ScoringError("item numbers must be unique", "items")
    allowed = RQ_PROTOTYPES if method == "rq" else DIMENSIONS
    for item in items:
        if item.dimension not in allowed:
            raise ScoringError(f"item {item.number}: dimension {item.dimension!r} not in {allowed}", "items")
    present = {item.dimension for item in items}
    if set(allowed) - present:
        raise ScoringError(f"every one of {allowed} needs at least one item", "items")
    if method == "rq" and len(items) != len(RQ_PROTOTYPES):
        raise ScoringError("RQ has exactly one item per prototype", "items")
    targets = tuple(definition.get("targets", ()))
    if (method == "per_target") != bool(targets):
        raise ScoringError("targets are required for, and only for, per_target scoring", "targets")
    return ScoringKey(
        code=definition["code"],
        version=int(definition["version"]),
        method=method,
        scale_min=scale_min,
        scale_max=scale_max,
        items=items,
        targets=targets,
    )


def quadrant(*, anxiety: float, avoidance: float, cut: float = DEFAULT_CUT) -> str:
    """A tendency label (never a diagnosis): high is `> cut` on each dimension.

    `secure` exactly when both dimensions are `<= cut`, i.e. exactly when `distance_to_secure` is 0:
    a score sitting on the cut (all-midpoint answers) is secure, one a hair above it is not."""
    high_anxiety, high_avoidance = anxiety > cut, avoidance > cut
    if high_anxiety and high_avoidance:
        return "fearful"
    if high_anxiety:
        return "preoccupied"
    if high_avoidance:
        return "dismissing"
    return "secure"


def distance_to_secure(*, anxiety: float, avoidance: float, cut: float = DEFAULT_CUT) -> float:
    return math.hypot(max(0.0, avoidance - cut), max(0.0, anxiety - cut))


def dimension_scores(*, anxiety: float, avoidance: float, midpoint_sum: int, cut: float) -> DimensionScores:
    return DimensionScores(
        anxiety=anxiety,
        avoidance=avoidance,
        self_model=midpoint_sum - anxiety,
        other_model=midpoint_sum - avoidance,
        quadrant=quadrant(anxiety=anxiety, avoidance=avoidance, cut=cut),
        distance_to_secure=distance_to_secure(anxiety=anxiety, avoidance=avoidance, cut=cut),
    )


def keyed_value(key: ScoringKey, item: KeyedItem, value: int) -> int:
    return key.midpoint_sum - value if item.reverse else value


def rq_models(*, secure: int, fearful: int, preoccupied: int, dismissing: int) -> tuple[int, int]:
    """(model of self, model of others), Griffin & Bartholomew (1994)."""
    return (secure + dismissing) - (fearful + preoccupied), (secure + preoccupied) - (fearful + dismissing)


def _check_values(key: ScoringKey, answers: Mapping[int, int], where: str) -> None:
    missing = sorted(key.item_numbers - set(answers))
    unknown = sorted(set(answers) - key.item_numbers)
    if unknown:
        raise ScoringError(f"{where}unknown item(s) {unknown}; this instrument has items 1-{len(key.items)}.")
    if missing:
        raise ScoringError(f"{where}every item must be answered; missing {missing}.")
    for number, value in answers.items():
        if isinstance(value, bool) or not isinstance(value, int) or not key.scale_min <= value <= key.scale_max:
            raise ScoringError(f"{where}item {number}: value must be an integer {key.scale_min}-{key.scale_max}.")


def _dimension_means(key: ScoringKey, answers: Mapping[int, int]) -> tuple[float, float]:
    sums = dict.fromkeys(DIMENSIONS, 0)
    counts = dict.fromkeys(DIMENSIONS, 0)
    for item in key.items:
        sums[item.dimension] += keyed_value(key, item, answers[item.number])
        counts[item.dimension] += 1
    return sums["anxiety"] / counts["anxiety"], sums["avoidance"] / counts["avoidance"]


def score(
    key: ScoringKey,
    responses: Iterable[Mapping],
    *,
    cut: float = DEFAULT_CUT,
) -> Scores:
    """Score `[{"item": n, "value": v, "target"?: t}, …]`: every item answered exactly once (per target)."""
    by_target: dict[str | None, dict[int, int]] = {}
    for response in responses:
        target = response.get("target")
        if key.method != "per_target" and target is not None:
            raise ScoringError("this instrument has no relationship targets; leave out `target`.")
        if key.method == "per_target" and target not in key.targets:
            raise ScoringError(f"each response needs a `target`, one of {list(key.targets)}.")
        answers = by_target.setdefault(target, {})
        number = response["item"]
        if number in answers:
            raise ScoringError(f"item {number} is answered more than once" + (f" for {target}." if target else "."))
        answers[number] = response["value"]
    if not by_target:
        raise ScoringError("at least one response is required.")

    mid = key.midpoint_sum
    if key.method == "rq":
        answers = by_target[None]
        _check_values(key, answers, "")
        ratings = {item.dimension: answers[item.number] for item in key.items}
        model_of_self, model_of_others = rq_models(**ratings)
        # Model scores run ±2·span (span = max - min); mapping that range linearly onto the scale's
        # ends gives x ↦ mid/2 - x·(span/2)/(2·span) = mid/2 - x/4 (on 1-7: +12 ↦ 1, 0 ↦ 4, -12 ↦ 7).
        anxiety = mid / 2 - model_of_self / 4
        avoidance = mid / 2 - model_of_others / 4
        base = dimension_scores(anxiety=anxiety, avoidance=avoidance, midpoint_sum=mid, cut=cut)
        return Scores(**base.as_dict(), extra={"model_of_self": model_of_self, "model_of_others": model_of_others})

    if key.method == "per_target":
        per_target = {}
        for target in key.targets:  # definition order, so results are stable
            if target in by_target:
                answers = by_target[target]
                _check_values(key, answers, f"{target}: ")
                anxiety, avoidance = _dimension_means(key, answers)
                per_target[target] = dimension_scores(anxiety=anxiety, avoidance=avoidance, midpoint_sum=mid, cut=cut)
        anxiety = sum(s.anxiety for s in per_target.values()) / len(per_target)
        avoidance = sum(s.avoidance for s in per_target.values()) / len(per_target)
        base = dimension_scores(anxiety=anxiety, avoidance=avoidance, midpoint_sum=mid, cut=cut)
        # The global score of the ECR-RS literature is the mean over *all* targets; with some missing
        # the headline is the mean of the answered ones and is marked partial (not comparable across
        # check-ins that answered different targets).
        partial = len(per_target) < len(key.targets)
        extra = {"targets": {t: s.as_dict() for t, s in per_target.items()}, "partial": partial}
        return Scores(**base.as_dict(), extra=extra)

    answers = by_target[None]
    _check_values(key, answers, "")
    anxiety, avoidance = _dimension_means(key, answers)
    return Scores(**dimension_scores(anxiety=anxiety, avoidance=avoidance, midpoint_sum=mid, cut=cut).as_dict())
