"""Scoring keys: hand-worked examples for every shipped instrument, and properties over all answers."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.entries.services.instruments import definitions_read
from tracker.insights import scoring

KEYS = {d["code"]: scoring.key_from_definition(d) for d in definitions_read()}


def answers(mapping: dict[int, int], target: str | None = None) -> list[dict]:
    return [{"item": n, "value": v} | ({"target": target} if target else {}) for n, v in mapping.items()]


def test_every_shipped_instrument_is_keyed_as_in_the_design():
    assert set(KEYS) == {"wmc", "ecr-r", "ecr-s", "ecr-rs", "rq"}

    def keyed(code, dimension=None, reverse=None):
        return {
            i.number
            for i in KEYS[code].items
            if (dimension is None or i.dimension == dimension) and (reverse is None or i.reverse == reverse)
        }

    assert keyed("ecr-r", "anxiety") == set(range(1, 19))
    assert keyed("ecr-r", "avoidance") == set(range(19, 37))
    assert keyed("ecr-r", reverse=True) == {9, 11, 20, 22, 26, 27, 28, 29, 30, 31, 33, 34, 35, 36}
    assert keyed("ecr-s", "anxiety") == {2, 4, 6, 8, 10, 12}
    assert keyed("ecr-s", "avoidance") == {1, 3, 5, 7, 9, 11}
    assert keyed("ecr-s", reverse=True) == {1, 5, 8, 9}
    assert keyed("ecr-rs", "avoidance") == set(range(1, 7))
    assert keyed("ecr-rs", "anxiety") == {7, 8, 9}
    assert keyed("ecr-rs", reverse=True) == {1, 2, 3, 4}
    assert {i.dimension for i in KEYS["rq"].items} == set(scoring.RQ_PROTOTYPES)
    # Our own check-in: both dimensions, some items reverse-keyed on each.
    assert keyed("wmc", "anxiety", True) and keyed("wmc", "avoidance", True)
    assert 6 <= len(KEYS["wmc"].items) <= 8


def test_working_model_checkin_hand_worked():
    # anxiety: 6, (8-2)=6, 5, (8-3)=5 -> 5.5; avoidance: 2, (8-6)=2, 1, (8-7)=1 -> 1.5
    s = scoring.score(KEYS["wmc"], answers({1: 6, 2: 2, 3: 5, 4: 3, 5: 2, 6: 6, 7: 1, 8: 7}))
    assert (s.anxiety, s.avoidance) == (5.5, 1.5)
    assert (s.self_model, s.other_model) == (2.5, 6.5)
    assert s.quadrant == "preoccupied"
    assert s.distance_to_secure == pytest.approx(1.5)


def test_ecr_r_all_sevens_and_all_ones_reveal_the_reverse_keys():
    # All 7: anxiety = (16*7 + 2*1)/18 (items 9, 11 reversed); avoidance = (6*7 + 12*1)/18.
    s = scoring.score(KEYS["ecr-r"], answers(dict.fromkeys(range(1, 37), 7)))
    assert s.anxiety == pytest.approx(114 / 18)
    assert s.avoidance == pytest.approx(3.0)
    assert s.quadrant == "preoccupied"
    assert s.distance_to_secure == pytest.approx(114 / 18 - 4)
    s = scoring.score(KEYS["ecr-r"], answers(dict.fromkeys(range(1, 37), 1)))
    assert s.anxiety == pytest.approx(30 / 18)
    assert s.avoidance == pytest.approx(5.0)
    assert s.quadrant == "dismissing"
    assert s.distance_to_secure == pytest.approx(1.0)


def test_ecr_s_hand_worked_with_avoidance_exactly_at_the_cut():
    values = dict.fromkeys(range(1, 13), 5) | {1: 2, 5: 3, 8: 6, 9: 7, 11: 2}
    # anxiety: 2,4,6,10,12 -> 5 each; 8 reversed 8-6=2 -> 27/6 = 4.5
    # avoidance: 1 -> 8-2=6, 3 -> 5, 5 -> 8-3=5, 7 -> 5, 9 -> 8-7=1, 11 -> 2 -> 24/6 = 4.0
    s = scoring.score(KEYS["ecr-s"], answers(values))
    assert (s.anxiety, s.avoidance) == (4.5, 4.0)
    # 4.0 sits on the cut and counts as low: secure exactly when D = 0, so only anxiety is high.
    assert s.quadrant == "preoccupied"
    assert s.distance_to_secure == pytest.approx(0.5)


@pytest.mark.parametrize("code", ["wmc", "ecr-r", "ecr-s"])
def test_all_midpoint_answers_are_secure_with_distance_zero(code):
    key = KEYS[code]
    s = scoring.score(key, answers(dict.fromkeys(sorted(key.item_numbers), 4)))
    assert (s.anxiety, s.avoidance) == (4.0, 4.0)
    assert s.quadrant == "secure" and s.distance_to_secure == 0.0


def test_ecr_rs_scores_each_relationship_target_and_averages_them():
    partner = answers(dict.fromkeys(range(1, 10), 7), "partner")
    mother = answers(dict.fromkeys(range(1, 10), 2), "mother")
    s = scoring.score(KEYS["ecr-rs"], partner + mother)
    targets = s.extra["targets"]
    assert list(targets) == ["mother", "partner"]  # definition order
    # partner: avoidance (1,1,1,1,7,7)/6 = 3, anxiety 7
    assert (targets["partner"]["avoidance"], targets["partner"]["anxiety"]) == (3.0, 7.0)
    assert targets["partner"]["quadrant"] == "preoccupied"
    # mother: avoidance (6,6,6,6,2,2)/6 = 28/6, anxiety 2
    assert targets["mother"]["avoidance"] == pytest.approx(28 / 6)
    assert targets["mother"]["quadrant"] == "dismissing"
    assert s.anxiety == pytest.approx(4.5)
    assert s.avoidance == pytest.approx((3 + 28 / 6) / 2)
    assert s.quadrant == "preoccupied"
    assert s.extra["partial"] is True  # two of four targets: not the global score


def test_ecr_rs_global_score_only_when_all_four_targets_are_answered():
    key = KEYS["ecr-rs"]
    assert len(key.targets) == 4
    values = {"mother": 2, "father": 3, "partner": 5, "best_friend": 6}
    full = scoring.score(key, [r for t, v in values.items() for r in answers(dict.fromkeys(range(1, 10), v), t)])
    assert full.extra["partial"] is False and set(full.extra["targets"]) == set(values)
    # anxiety items 7-9 are not reversed: the global anxiety is the mean of the four targets' values.
    assert full.anxiety == pytest.approx((2 + 3 + 5 + 6) / 4)
    three = scoring.score(
        key, [r for t, v in list(values.items())[:3] for r in answers(dict.fromkeys(range(1, 10), v), t)]
    )
    assert three.extra["partial"] is True


def test_rq_models_of_self_and_others():
    s = scoring.score(KEYS["rq"], answers({1: 6, 2: 2, 3: 3, 4: 5}))  # secure, fearful, preoccupied, dismissing
    assert s.extra == {"model_of_self": (6 + 5) - (2 + 3), "model_of_others": (6 + 3) - (2 + 5)}
    assert (s.anxiety, s.avoidance) == (4 - 6 / 4, 4 - 2 / 4)
    assert s.quadrant == "secure" and s.distance_to_secure == 0
    # The ends of the -12..+12 ranges map onto the ends of the 1-7 scale.
    positive_self = scoring.score(KEYS["rq"], answers({1: 7, 2: 1, 3: 1, 4: 7}))
    assert positive_self.extra == {"model_of_self": 12, "model_of_others": 0}
    assert (positive_self.anxiety, positive_self.avoidance) == (1.0, 4.0)
    negative_others = scoring.score(KEYS["rq"], answers({1: 1, 2: 7, 3: 1, 4: 7}))
    assert negative_others.extra == {"model_of_self": 0, "model_of_others": -12}
    assert (negative_others.anxiety, negative_others.avoidance) == (4.0, 7.0)
    assert negative_others.quadrant == "dismissing"  # anxiety 4.0 is on the cut: low
    assert negative_others.distance_to_secure == pytest.approx(3.0)


@pytest.mark.parametrize(
    ("code", "responses", "message"),
    [
        ("wmc", answers({1: 1}), "missing"),
        ("wmc", answers({n: 4 for n in range(1, 10)}), "unknown item"),
        ("wmc", answers(dict.fromkeys(range(1, 9), 8)), "1-7"),
        ("wmc", answers(dict.fromkeys(range(1, 9), 4)) + answers({3: 4}), "more than once"),
        ("wmc", answers(dict.fromkeys(range(1, 9), 4), "partner"), "no relationship targets"),
        ("ecr-rs", answers(dict.fromkeys(range(1, 10), 4)), "target"),
        ("ecr-rs", answers(dict.fromkeys(range(1, 10), 4), "boss"), "target"),
        ("ecr-rs", answers(dict.fromkeys(range(1, 9), 4), "partner"), "partner: every item"),
        ("rq", [], "at least one"),
    ],
)
def test_unscorable_responses_say_what_is_wrong(code, responses, message):
    with pytest.raises(scoring.ScoringError, match=message):
        scoring.score(KEYS[code], responses)


@pytest.mark.parametrize(
    ("anxiety", "avoidance", "cut", "expected"),
    [
        (4.0, 4.0, 4.0, "secure"),
        (4.01, 4.0, 4.0, "preoccupied"),
        (4.0, 4.01, 4.0, "dismissing"),
        (4.01, 4.01, 4.0, "fearful"),
        (3.5, 3.5, 3.5, "secure"),
        (3.6, 3.5, 3.5, "preoccupied"),
        (3.5, 3.6, 3.5, "dismissing"),
        (3.6, 3.6, 3.5, "fearful"),
        (4.5, 4.5, 4.5, "secure"),
        (4.2, 1.0, 4.5, "secure"),
        (4.6, 4.6, 4.5, "fearful"),
    ],
)
def test_the_boundary_rule_at_exactly_the_configured_cut(anxiety, avoidance, cut, expected):
    assert scoring.quadrant(anxiety=anxiety, avoidance=avoidance, cut=cut) == expected
    distance = scoring.distance_to_secure(anxiety=anxiety, avoidance=avoidance, cut=cut)
    assert (distance == 0) == (expected == "secure")


def test_distance_to_secure_uses_the_configured_cut():
    assert scoring.distance_to_secure(anxiety=6.0, avoidance=5.0, cut=3.0) == pytest.approx(math.hypot(2.0, 3.0))
    assert scoring.distance_to_secure(anxiety=6.0, avoidance=2.0, cut=3.0) == pytest.approx(3.0)
    assert scoring.distance_to_secure(anxiety=2.0, avoidance=6.0) == pytest.approx(2.0)


@given(
    st.floats(min_value=1, max_value=7),
    st.floats(min_value=1, max_value=7),
    st.sampled_from([3.0, 3.5, 4.0, 4.5, 5.0]),
)
def test_secure_exactly_when_distance_is_zero(anxiety, avoidance, cut):
    label = scoring.quadrant(anxiety=anxiety, avoidance=avoidance, cut=cut)
    assert (label == "secure") == (scoring.distance_to_secure(anxiety=anxiety, avoidance=avoidance, cut=cut) == 0)


@st.composite
def response_sets(draw):
    code = draw(st.sampled_from(sorted(KEYS)))
    key = KEYS[code]
    values = st.integers(key.scale_min, key.scale_max)
    if key.method == "per_target":
        targets = draw(st.lists(st.sampled_from(key.targets), min_size=1, unique=True))
    else:
        targets = [None]
    responses = [
        {"item": item.number, "value": draw(values)} | ({"target": t} if t else {})
        for t in targets
        for item in key.items
    ]
    return key, responses


@settings(max_examples=80, deadline=None)
@given(response_sets())
def test_every_valid_response_set_scores_in_range(case):
    key, responses = case
    s = scoring.score(key, responses)
    for value in (s.anxiety, s.avoidance, s.self_model, s.other_model):
        assert 1 <= value <= 7
    assert s.self_model == pytest.approx(8 - s.anxiety)
    assert s.other_model == pytest.approx(8 - s.avoidance)
    assert 0 <= s.distance_to_secure <= math.sqrt(18) + 1e-9
    assert s.quadrant == scoring.quadrant(anxiety=s.anxiety, avoidance=s.avoidance)
    expected = math.hypot(max(0, s.avoidance - 4), max(0, s.anxiety - 4))
    assert s.distance_to_secure == pytest.approx(expected)
    if key.method == "rq":
        assert -12 <= s.extra["model_of_self"] <= 12 and -12 <= s.extra["model_of_others"] <= 12


@settings(max_examples=80, deadline=None)
@given(response_sets())
def test_reversing_every_answer_mirrors_the_scores(case):
    key, responses = case
    mirrored = [{**r, "value": key.scale_min + key.scale_max - r["value"]} for r in responses]
    s, m = scoring.score(key, responses), scoring.score(key, mirrored)
    assert m.anxiety == pytest.approx(8 - s.anxiety)
    assert m.avoidance == pytest.approx(8 - s.avoidance)
    assert (m.self_model, m.other_model) == pytest.approx((s.anxiety, s.avoidance))
    if key.method == "rq":
        assert m.extra["model_of_self"] == -s.extra["model_of_self"]
        assert m.extra["model_of_others"] == -s.extra["model_of_others"]
