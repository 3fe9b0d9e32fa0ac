"""The weekly summary's tendency (two-week rule) and its safety rule, read with the real producer's output."""

from datetime import date

from notifications.content import CALMING_HELPED_LINE, summary_lines
from tracker.insights import trends
from tracker.insights.services import summary_payload

WEEK = date(2026, 3, 2)


def week(anxiety, avoidance, flags=0, code="wmc"):
    """One week's `aggregate_checkins` entry: two check-ins of one instrument."""
    return {
        "checkins": 2,
        "safety_flags": flags,
        "instruments": {
            code: {
                "checkins": 2,
                "counted": 2,
                "anxiety": anxiety,
                "avoidance": avoidance,
                "distance_to_secure": trends.scoring.distance_to_secure(anxiety=anxiety, avoidance=avoidance),
                "is_default": code == "wmc",
            }
        },
    }


def calming(flag=False):
    return [trends.Episode(8, 4, ["breathing"], None, 20, safety_flag=flag)]


def test_no_praise_of_regulation_in_a_week_with_a_safety_flag():
    calm = summary_payload(week_start=WEEK, checkins=week(3, 3), episodes=calming(), cut=4.0)
    assert calm["safety_flags"] == 0 and CALMING_HELPED_LINE in summary_lines(calm)
    flagged_log = summary_payload(week_start=WEEK, checkins=week(3, 3), episodes=calming(flag=True), cut=4.0)
    assert flagged_log["safety_flags"] == 1 and CALMING_HELPED_LINE not in summary_lines(flagged_log)
    flagged_checkin = summary_payload(week_start=WEEK, checkins=week(3, 3, flags=1), episodes=calming(), cut=4.0)
    assert flagged_checkin["safety_flags"] == 1 and CALMING_HELPED_LINE not in summary_lines(flagged_checkin)


def test_the_tendency_follows_the_two_week_rule_and_the_boundary():
    first = summary_payload(week_start=WEEK, checkins=week(5, 3), episodes=(), cut=4.0, previous=week(3, 3))
    assert first["quadrant"] == "preoccupied" and first["tendency"] is None  # one week does not settle it
    settled = summary_payload(week_start=WEEK, checkins=week(5, 3), episodes=(), cut=4.0, previous=week(4.5, 2))
    assert settled["tendency"] == "preoccupied"
    # All-midpoint weeks sit on the cut: secure, distance 0.
    midpoint = summary_payload(week_start=WEEK, checkins=week(4, 4), episodes=(), cut=4.0, previous=week(4, 4))
    assert midpoint["quadrant"] == "secure" and midpoint["distance_to_secure"] == 0 and midpoint["tendency"] == "secure"
    assert summary_payload(week_start=WEEK, checkins=None, episodes=calming(), cut=4.0)["tendency"] is None


def test_the_tendency_needs_the_same_instrument_the_week_before():
    other = summary_payload(
        week_start=WEEK, checkins=week(5, 3), episodes=(), cut=4.0, previous=week(4.5, 2, code="ecr-s")
    )
    assert other["instrument"] == "wmc" and other["quadrant"] == "preoccupied"
    assert other["tendency"] is None and other["week_over_week"] == "no_comparison" and other["distance_change"] is None
