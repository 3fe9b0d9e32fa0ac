"""Server-side SVG charts for the therapist dashboard: no JavaScript, no CDN, nothing to load.

Colours come from the Okabe-Ito palette (distinguishable with the common colour-vision
deficiencies), and nothing is told by colour alone: series also differ by marker and dash, the
quadrants carry their names, and every chart has a <title>/<desc> for screen readers."""

from __future__ import annotations

from html import escape
from itertools import count

from django.utils.safestring import SafeString, mark_safe

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

_ids = count(1)


def _n(value: float) -> str:
    return f"{value:.1f}"


def _open(kind: str, width: int, height: int, title: str, desc: str) -> tuple[str, str]:
    uid = f"chart-{kind}-{next(_ids)}"
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-labelledby="{uid}-t {uid}-d" preserveAspectRatio="xMidYMid meet" '
        f'font-family="system-ui, sans-serif" font-size="12">'
        f'<title id="{uid}-t">{escape(title)}</title><desc id="{uid}-d">{escape(desc)}</desc>'
    )
    return uid, head


def _empty(kind: str, title: str, message: str) -> SafeString:
    _, head = _open(kind, 480, 80, title, message)
    return mark_safe(  # noqa: S308 - every interpolated text is escaped above
        f'{head}<text x="240" y="45" text-anchor="middle" fill="{INK}">{escape(message)}</text></svg>'
    )


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
    _, head = _open("trajectory", size, size, title, desc)
    parts = [head]
    cx, cy = x(cut), y(cut)
    top, left, right, bottom = margin, margin, margin + plot, margin + plot
    quadrants = [
        # (x0, y0, x1, y1, colour, name, label position)
        (left, cy, cx, bottom, GREEN, "secure", (left + 6, bottom - 8, "start")),
        (left, top, cx, cy, ORANGE, "preoccupied", (left + 6, top + 16, "start")),
        (cx, cy, right, bottom, SKY_BLUE, "dismissing", (right - 6, bottom - 8, "end")),
        (cx, top, right, cy, PURPLE, "fearful", (right - 6, top + 16, "end")),
    ]
    for x0, y0, x1, y1, colour, name, (lx, ly, anchor) in quadrants:
        parts.append(
            f'<rect class="quadrant quadrant-{name}" x="{_n(x0)}" y="{_n(y0)}" width="{_n(x1 - x0)}" '
            f'height="{_n(y1 - y0)}" fill="{colour}" fill-opacity="0.16"/>'
            f'<text x="{_n(lx)}" y="{_n(ly)}" text-anchor="{anchor}" fill="{INK}" font-weight="600">{name}</text>'
        )
    for tick in range(1, 8):
        parts.append(
            f'<line x1="{_n(x(tick))}" y1="{bottom}" x2="{_n(x(tick))}" y2="{bottom + 4}" stroke="{INK}"/>'
            f'<text x="{_n(x(tick))}" y="{bottom + 16}" text-anchor="middle" fill="{INK}">{tick}</text>'
            f'<line x1="{left - 4}" y1="{_n(y(tick))}" x2="{left}" y2="{_n(y(tick))}" stroke="{INK}"/>'
            f'<text x="{left - 8}" y="{_n(y(tick) + 4)}" text-anchor="end" fill="{INK}">{tick}</text>'
        )
    dashed = 'stroke-dasharray="4 3"'
    parts.append(
        f'<rect x="{left}" y="{top}" width="{plot}" height="{plot}" fill="none" stroke="{INK}"/>'
        f'<line class="cut" x1="{_n(cx)}" y1="{top}" x2="{_n(cx)}" y2="{bottom}" stroke="{INK}" {dashed}/>'
        f'<line class="cut" x1="{left}" y1="{_n(cy)}" x2="{right}" y2="{_n(cy)}" stroke="{INK}" {dashed}/>'
        f'<text x="{size / 2}" y="{size - 8}" text-anchor="middle" fill="{INK}">Avoidance (model of others)</text>'
        f'<text transform="translate(14 {size / 2}) rotate(-90)" text-anchor="middle" fill="{INK}">'
        f"Anxiety (model of self)</text>"
    )
    coords = [(x(p["avoidance"]), y(p["anxiety"])) for p in points]
    if len(coords) > 1:
        d = "M" + " L".join(f"{_n(px)} {_n(py)}" for px, py in coords)
        parts.append(f'<path class="trajectory" d="{d}" fill="none" stroke="{INK}" stroke-width="2"/>')
    for index, ((px, py), point) in enumerate(zip(coords, points, strict=True)):
        is_last = index == len(coords) - 1
        opacity = 0.35 + 0.65 * (index + 1) / len(coords)
        label = f"Week of {point['week_start']}: anxiety {_n(point['anxiety'])}, avoidance {_n(point['avoidance'])}"
        parts.append(
            f'<circle class="week{" latest" if is_last else ""}" cx="{_n(px)}" cy="{_n(py)}" '
            f'r="{7 if is_last else 4}" fill="{INK}" fill-opacity="{opacity:.2f}" stroke="#fff" stroke-width="1.5">'
            f"<title>{escape(label)}</title></circle>"
        )
    lx, ly = coords[-1]
    parts.append(f'<text x="{_n(lx + 10)}" y="{_n(ly - 8)}" fill="{INK}" font-weight="700">now</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text is escaped


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
    left, right, top, bottom = 44, 16, 36, 48
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
    _, head = _open("weekly", width, height, title, desc)
    parts = [head]
    for tick in range(1, 8):
        parts.append(
            f'<line x1="{left}" y1="{_n(y(tick))}" x2="{width - right}" y2="{_n(y(tick))}" stroke="{GRID}"/>'
            f'<text x="{left - 8}" y="{_n(y(tick) + 4)}" text-anchor="end" fill="{INK}">{tick}</text>'
        )
    label_every = max(1, len(weeks) // 6)
    for i, week in enumerate(weeks):
        if i % label_every == 0 or i == len(weeks) - 1:
            parts.append(
                f'<text x="{_n(x(i))}" y="{height - bottom + 18}" text-anchor="middle" fill="{INK}">'
                f"{escape(str(week['week_start'])[5:])}</text>"
            )
    series = [
        ("anxiety", "Anxiety", ANXIETY_COLOUR, ""),
        ("avoidance", "Avoidance", AVOIDANCE_COLOUR, ' stroke-dasharray="7 4"'),
    ]
    for key, name, colour, dash in series:
        d = _segments([(x(i), y((w.get("ewma") or {}).get(key))) for i, w in enumerate(weeks)])
        if "L" in d:
            parts.append(
                f'<path class="ewma ewma-{key}" d="{d}" fill="none" stroke="{colour}" stroke-width="2.5"{dash}/>'
            )
        for i, week in enumerate(weeks):
            if week.get(key) is None:
                continue
            smoothed = (week.get("ewma") or {}).get(key)
            tip = f"{name}, week of {week['week_start']}: mean {_n(week[key])}" + (
                f", EWMA {_n(smoothed)}" if smoothed is not None else ""
            )
            # Circles for anxiety, squares for avoidance: the shape tells them apart without colour.
            if key == "anxiety":
                tag, geometry = "circle", f'cx="{_n(x(i))}" cy="{_n(y(week[key]))}" r="4"'
            else:
                tag, geometry = "rect", f'x="{_n(x(i) - 4)}" y="{_n(y(week[key]) - 4)}" width="8" height="8"'
            parts.append(
                f'<{tag} class="mean mean-{key}" {geometry} fill="{colour}" stroke="#fff">'
                f"<title>{escape(tip)}</title></{tag}>"
            )
    legend_y = 18
    parts.append(
        f'<circle cx="{left + 6}" cy="{legend_y - 4}" r="4" fill="{ANXIETY_COLOUR}"/>'
        f'<line x1="{left + 14}" y1="{legend_y - 4}" x2="{left + 34}" y2="{legend_y - 4}" '
        f'stroke="{ANXIETY_COLOUR}" stroke-width="2.5"/>'
        f'<text x="{left + 40}" y="{legend_y}" fill="{INK}">Anxiety: weekly mean, EWMA</text>'
        f'<rect x="{left + 232}" y="{legend_y - 8}" width="8" height="8" fill="{AVOIDANCE_COLOUR}"/>'
        f'<line x1="{left + 246}" y1="{legend_y - 4}" x2="{left + 266}" y2="{legend_y - 4}" '
        f'stroke="{AVOIDANCE_COLOUR}" stroke-width="2.5" stroke-dasharray="7 4"/>'
        f'<text x="{left + 272}" y="{legend_y}" fill="{INK}">Avoidance: weekly mean, EWMA</text>'
        f'<text x="{width / 2}" y="{height - 8}" text-anchor="middle" fill="{INK}">Week starting (local)</text>'
    )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text is escaped


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
    _, head = _open("strategies", width, height, title, desc)
    parts = [head, f'<text x="{label_w}" y="16" fill="{INK}">Mean drop in intensity (points, 0-10 scale)</text>']
    zero = x(0)
    for i, s in enumerate(rows):
        top_y = top + i * row_h
        value = s["mean_drop"]
        colour = GREEN if value >= 0 else VERMILLION
        bar_x, bar_w = (zero, x(value) - zero) if value >= 0 else (x(value), zero - x(value))
        tip = f"{s['strategy']}: mean drop {_n(value)} over {s['episodes']} episodes"
        parts.append(
            f'<text x="{label_w - 8}" y="{top_y + row_h / 2 + 4}" text-anchor="end" fill="{INK}">'
            f"{escape(str(s['strategy']).replace('_', ' '))}</text>"
            f'<rect class="bar" x="{_n(bar_x)}" y="{top_y + 5}" width="{_n(max(bar_w, 1))}" height="{row_h - 10}" '
            f'fill="{colour}"><title>{escape(tip)}</title></rect>'
            f'<text x="{_n(max(x(value), zero) + 6)}" y="{top_y + row_h / 2 + 4}" fill="{INK}">'
            f"{_n(value)} (n={int(s['episodes'])})</text>"
        )
    parts.append(
        f'<line x1="{_n(zero)}" y1="{top}" x2="{_n(zero)}" y2="{height - 26}" stroke="{INK}"/>'
        f'<text x="{_n(zero)}" y="{height - 10}" text-anchor="middle" fill="{INK}">0</text>'
        "</svg>"
    )
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text is escaped
