"""Server-side SVG charts for the therapist dashboard: no JavaScript, no CDN, nothing to load.

The geometry (coordinates, paths, tick positions) and every label are computed here in Python; the
markup lives in auto-escaped Django templates (`tracker/templates/dashboard/charts/*.svg`), so any
text that reaches a chart (a strategy name, a week label) is escaped by the template engine and no
string built here is ever marked safe.

Colours come from the Okabe-Ito palette (distinguishable with the common colour-vision
deficiencies), and nothing is told by colour alone: series also differ by marker and dash, the
quadrants carry their names, and every chart has a <title>/<desc> for screen readers."""

from __future__ import annotations

import math
from itertools import count, pairwise

from django.template.loader import render_to_string
from django.utils.safestring import SafeString

# Okabe & Ito (2008), "Color Universal Design".
ORANGE = "#E69F00"
SKY_BLUE = "#56B4E9"
GREEN = "#009E73"
BLUE = "#0072B2"
VERMILLION = "#D55E00"
PURPLE = "#CC79A7"
INK = "#1F2933"
GRID = "#CBD2D9"

ANXIETY_COLOUR = VERMILLION
AVOIDANCE_COLOUR = BLUE
SCALE_MIN, SCALE_MAX = 1.0, 7.0
TICKS = range(1, 8)

_ids = count(1)


def _n(value: float) -> str:
    return f"{value:.1f}"


def _frame(kind: str, width: float, height: float, title: str, desc: str) -> dict:
    """What the shared template `dashboard/charts/chart.svg` needs: size, ids, title, description."""
    return {
        "kind": kind,
        "uid": f"chart-{kind}-{next(_ids)}",
        "width": width,
        "height": height,
        "title": title,
        "desc": desc,
        "ink": INK,
    }


def _render(template: str, context: dict) -> SafeString:
    # The template engine escapes every value; its output is what the page embeds.
    return render_to_string(f"dashboard/charts/{template}", context)


def _empty(kind: str, title: str, message: str) -> SafeString:
    return _render("empty.svg", {**_frame(kind, 480, 80, title, message), "message": message})


def trajectory_svg(points: list[dict], *, cut: float = 4.0) -> SafeString:
    """Weekly means on the avoidance (x) by anxiety (y) plane with the four quadrants drawn."""
    title = "Trajectory on the anxiety-by-avoidance plane"
    if not points:
        return _empty("trajectory", title, "No weekly check-in data yet.")
    size, margin = 380, 48
    plot = size - 2 * margin

    def x(v: float) -> float:
        return margin + (v - SCALE_MIN) / (SCALE_MAX - SCALE_MIN) * plot

    def y(v: float) -> float:
        return margin + plot - (v - SCALE_MIN) / (SCALE_MAX - SCALE_MIN) * plot

    last = points[-1]
    desc = (
        f"{len(points)} weekly points from {points[0]['week_start']} to {last['week_start']}; "
        f"latest anxiety {_n(last['anxiety'])}, avoidance {_n(last['avoidance'])}; quadrant cut at {_n(cut)}."
    )
    cx, cy = x(cut), y(cut)
    top, left, right, bottom = margin, margin, margin + plot, margin + plot
    quadrants = [
        # (x0, y0, x1, y1, colour, name, label x, label y, anchor)
        (left, cy, cx, bottom, GREEN, "secure", left + 6, bottom - 8, "start"),
        (left, top, cx, cy, ORANGE, "preoccupied", left + 6, top + 16, "start"),
        (cx, cy, right, bottom, SKY_BLUE, "dismissing", right - 6, bottom - 8, "end"),
        (cx, top, right, cy, PURPLE, "fearful", right - 6, top + 16, "end"),
    ]
    coords = [(x(p["avoidance"]), y(p["anxiety"])) for p in points]
    path = "M" + " L".join(f"{_n(px)} {_n(py)}" for px, py in coords) if len(coords) > 1 else ""
    weeks = [
        {
            "cx": _n(px),
            "cy": _n(py),
            "latest": index == len(coords) - 1,
            "r": 7 if index == len(coords) - 1 else 4,
            "opacity": f"{0.35 + 0.65 * (index + 1) / len(coords):.2f}",
            "label": (
                f"Week of {point['week_start']}: anxiety {_n(point['anxiety'])}, avoidance {_n(point['avoidance'])}"
            ),
        }
        for index, ((px, py), point) in enumerate(zip(coords, points, strict=True))
    ]
    # Direction: one arrowhead (the template's <marker>) half way along each week-to-week step, so
    # the order of the weeks reads without colour or opacity; a step that does not move has none.
    steps = [
        {"d": f"M{_n(ax)} {_n(ay)} L{_n((ax + bx) / 2)} {_n((ay + by) / 2)}"}
        for (ax, ay), (bx, by) in pairwise(coords)
        if math.hypot(bx - ax, by - ay) >= 1.0
    ]
    sx, sy = coords[0]
    start = (
        {
            "x": _n(sx - 6),
            "y": _n(sy - 6),
            "label_x": _n(sx + 10),
            "label_y": _n(sy + 16),
            "label": f"Start: week of {points[0]['week_start']}",
        }
        if len(coords) > 1
        else None
    )
    lx, ly = coords[-1]
    return _render(
        "trajectory.svg",
        {
            **_frame("trajectory", size, size, title, desc),
            "quadrants": [
                {
                    "name": name,
                    "x": _n(x0),
                    "y": _n(y0),
                    "width": _n(x1 - x0),
                    "height": _n(y1 - y0),
                    "colour": colour,
                    "label_x": _n(label_x),
                    "label_y": _n(label_y),
                    "anchor": anchor,
                }
                for x0, y0, x1, y1, colour, name, label_x, label_y, anchor in quadrants
            ],
            "ticks": [
                {
                    "label": tick,
                    "x": _n(x(tick)),
                    "y": _n(y(tick)),
                    "y_text": _n(y(tick) + 4),
                }
                for tick in TICKS
            ],
            "left": left,
            "top": top,
            "right": right,
            "bottom": bottom,
            "plot": plot,
            "axis_left": left - 4,
            "axis_text_left": left - 8,
            "axis_bottom": bottom + 4,
            "axis_text_bottom": bottom + 16,
            "cut_x": _n(cx),
            "cut_y": _n(cy),
            "middle": size / 2,
            "x_title_y": size - 8,
            "path": path,
            "weeks": weeks,
            "steps": steps,
            "start": start,
            "now_x": _n(lx + 10),
            "now_y": _n(ly - 8),
        },
    )


def _segments(points: list[tuple[float, float | None]]) -> str:
    """An SVG path through (x, y) points that breaks (a new "M") wherever y is missing."""
    d, pen_down = [], False
    for px, py in points:
        if py is None:
            pen_down = False
            continue
        d.append(f"{'L' if pen_down else 'M'}{_n(px)} {_n(py)}")
        pen_down = True
    return " ".join(d)


def weekly_series_svg(weeks: list[dict]) -> SafeString:
    """Weekly mean anxiety and avoidance (markers) with their EWMA (lines), on the 1-7 scale.

    Weeks without check-ins have no marker and break the EWMA line, so a gap is visible as a gap."""
    title = "Weekly anxiety and avoidance with EWMA"
    filled = [w for w in weeks if w.get("anxiety") is not None]
    if not filled:
        return _empty("weekly", title, "No weekly check-in data yet.")
    width, height = 640, 300
    left, right, top, bottom = 56, 16, 36, 48
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / max(1, len(weeks) - 1)

    def x(i: int) -> float:
        return left + (i * step if len(weeks) > 1 else plot_w / 2)

    def y(v: float | None) -> float | None:
        return None if v is None else top + plot_h - (v - SCALE_MIN) / (SCALE_MAX - SCALE_MIN) * plot_h

    last = filled[-1]
    ewma = last.get("ewma") or {}
    desc = (
        f"{len(weeks)} weeks from {weeks[0]['week_start']} to {weeks[-1]['week_start']}, {len(filled)} with "
        f"check-ins. Latest: week of {last['week_start']}, anxiety {_n(last['anxiety'])}"
        + (f" (EWMA {_n(ewma['anxiety'])})" if ewma.get("anxiety") is not None else "")
        + f", avoidance {_n(last['avoidance'])}"
        + (f" (EWMA {_n(ewma['avoidance'])})" if ewma.get("avoidance") is not None else "")
        + "."
    )
    label_every = max(1, len(weeks) // 6)
    series = []
    # Circles for anxiety, squares for avoidance: the shape tells them apart without colour.
    for key, name, colour, dash in (
        ("anxiety", "Anxiety", ANXIETY_COLOUR, ""),
        ("avoidance", "Avoidance", AVOIDANCE_COLOUR, "7 4"),
    ):
        d = _segments([(x(i), y((w.get("ewma") or {}).get(key))) for i, w in enumerate(weeks)])
        markers = []
        for i, week in enumerate(weeks):
            if week.get(key) is None:
                continue
            smoothed = (week.get("ewma") or {}).get(key)
            px, py = x(i), y(week[key])
            markers.append(
                {
                    "cx": _n(px),
                    "cy": _n(py),
                    "x": _n(px - 4),
                    "y": _n(py - 4),
                    "tip": f"{name}, week of {week['week_start']}: mean {_n(week[key])}"
                    + (f", EWMA {_n(smoothed)}" if smoothed is not None else ""),
                }
            )
        series.append(
            {
                "key": key,
                "colour": colour,
                "dash": dash,
                "square": key == "avoidance",
                "path": d if "L" in d else "",
                "markers": markers,
            }
        )
    legend_y = 18
    return _render(
        "weekly.svg",
        {
            **_frame("weekly", width, height, title, desc),
            "grid": GRID,
            "ticks": [{"label": tick, "y": _n(y(tick)), "y_text": _n(y(tick) + 4)} for tick in TICKS],
            "left": left,
            "grid_right": width - right,
            "axis_text_left": left - 8,
            "week_labels": [
                {"x": _n(x(i)), "text": str(week["week_start"])[5:]}
                for i, week in enumerate(weeks)
                if i % label_every == 0 or i == len(weeks) - 1
            ],
            "week_label_y": height - bottom + 18,
            "series": series,
            "anxiety_colour": ANXIETY_COLOUR,
            "avoidance_colour": AVOIDANCE_COLOUR,
            "legend": {
                "y": legend_y,
                "mid": legend_y - 4,
                "square_y": legend_y - 8,
                "x": [left + offset for offset in (6, 14, 34, 40, 232, 246, 266, 272)],
            },
            "middle": width / 2,
            "x_title_y": height - 8,
            "y_title": "Mean score (1-7 scale)",
            "y_title_x": 14,
            "y_title_y": _n(top + plot_h / 2),
        },
    )


def strategy_drop_svg(strategies: list[dict]) -> SafeString:
    """Mean intensity drop (before - after, 0-10 scale) per regulation strategy, as bars."""
    title = "Mean intensity drop per regulation strategy"
    rows = [s for s in strategies if s.get("mean_drop") is not None]
    if not rows:
        return _empty("strategies", title, "Not enough regulation episodes per strategy yet.")
    rows = sorted(rows, key=lambda s: -s["mean_drop"])
    width, label_w, right, top, row_h = 640, 170, 110, 28, 30
    height = top + row_h * len(rows) + 30
    low = min(0.0, *(s["mean_drop"] for s in rows))
    high = max(1.0, *(s["mean_drop"] for s in rows))
    plot_w = width - label_w - right

    def x(v: float) -> float:
        return label_w + (v - low) / (high - low) * plot_w

    desc = "; ".join(f"{s['strategy']}: mean drop {_n(s['mean_drop'])} over {s['episodes']} episodes" for s in rows)
    zero = x(0)
    bars = []
    for i, s in enumerate(rows):
        top_y = top + i * row_h
        value = s["mean_drop"]
        bar_x, bar_w = (zero, x(value) - zero) if value >= 0 else (x(value), zero - x(value))
        bars.append(
            {
                "label": str(s["strategy"]).replace("_", " "),
                "text_y": top_y + row_h / 2 + 4,
                "x": _n(bar_x),
                "y": top_y + 5,
                "width": _n(max(bar_w, 1)),
                "height": row_h - 10,
                "colour": GREEN if value >= 0 else VERMILLION,
                "tip": f"{s['strategy']}: mean drop {_n(value)} over {s['episodes']} episodes",
                "value_x": _n(max(x(value), zero) + 6),
                "value": f"{_n(value)} (n={int(s['episodes'])})",
            }
        )
    return _render(
        "strategies.svg",
        {
            **_frame("strategies", width, height, title, desc),
            "label_w": label_w,
            "label_right": label_w - 8,
            "bars": bars,
            "zero": _n(zero),
            "top": top,
            "axis_bottom": height - 26,
            "zero_label_y": height - 10,
        },
    )
