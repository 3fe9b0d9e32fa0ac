"""The session report as a PDF, drawn with ReportLab (pure pip install: no system libraries, unlike
WeasyPrint's pango/cairo, so a fresh CI machine with only Python and pip renders it too).

Numbers are printed with two decimals from the same values the API returns, so the report and the
API agree. Sections the share does not cover are left out entirely (not shown as empty)."""

from __future__ import annotations

from io import BytesIO

from django.utils import timezone
from django.utils.html import escape
from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.shapes import Drawing, Line, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

STYLES = getSampleStyleSheet()
GRID = TableStyle(
    [
        ("FONTSIZE", (0, 0), (-1, -1), 8),
        ("LEADING", (0, 0), (-1, -1), 9.5),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef3")),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#b8c4cc")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
)
ANXIETY, AVOIDANCE = colors.HexColor("#b4462b"), colors.HexColor("#2b6cb4")


def num(value, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _when(value) -> str:
    return "—" if value is None else timezone.localtime(value).strftime("%d %b %Y %H:%M")


def _table(rows: list[list], widths=None) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1, hAlign="LEFT")
    table.setStyle(GRID)
    return table


def _weekly_chart(weeks: list[dict]) -> Drawing:
    """Weekly mean anxiety and avoidance (1 to 7) over the window, with the quadrant cut dashed."""
    drawing = Drawing(170 * mm, 45 * mm)
    plot = LinePlot()
    plot.x, plot.y, plot.width, plot.height = 12 * mm, 6 * mm, 150 * mm, 34 * mm
    series = [
        [(i, w[key]) for i, w in enumerate(weeks) if w[key] is not None] or [(0, 1)] for key in ("anxiety", "avoidance")
    ]
    plot.data = series
    plot.lines[0].strokeColor, plot.lines[1].strokeColor = ANXIETY, AVOIDANCE
    plot.xValueAxis.valueMin, plot.xValueAxis.valueMax = 0, max(1, len(weeks) - 1)
    plot.xValueAxis.visibleLabels = False
    plot.yValueAxis.valueMin, plot.yValueAxis.valueMax, plot.yValueAxis.valueStep = 1, 7, 1
    drawing.add(plot)
    cut_y = plot.y + plot.height * (4 - 1) / 6
    drawing.add(Line(plot.x, cut_y, plot.x + plot.width, cut_y, strokeDashArray=[2, 2], strokeColor=colors.grey))
    drawing.add(String(plot.x, 41 * mm, "anxiety", fillColor=ANXIETY, fontSize=7))
    drawing.add(String(plot.x + 18 * mm, 41 * mm, "avoidance", fillColor=AVOIDANCE, fontSize=7))
    return drawing


def session_report_pdf(report: dict) -> bytes:
    h1, h2, body = STYLES["Title"], STYLES["Heading3"], STYLES["BodyText"]
    body.fontSize, body.leading = 9, 11
    story: list = []
    client = report["client"]
    # Paragraph text is markup: a name like "A <b> & Co" must print as typed, not break the document.
    story.append(Paragraph(f"Session report: {escape(client.display_name or 'client')}", h1))
    digest = report["digest"]
    story.append(
        Paragraph(
            f"Generated {_when(report['generated_at'])}. Shared with you: {', '.join(report['scopes'])}. "
            f"Since {'the last session' if digest['last_session_at'] else 'sharing began'}: {_when(digest['since'])}.",
            body,
        )
    )
    trend = report["trend"]
    if trend is not None and trend["weeks"] is not None:
        story.append(Paragraph("Trajectory and direction", h2))
        filled = [w for w in trend["weeks"] if w["anxiety"] is not None]
        latest = filled[-1] if filled else None
        direction = trend["direction"]
        lines = [
            f"Direction: {direction['value'].replace('_', ' ')} "
            f"(distance-to-secure slope {num(direction['distance_slope_per_week'], 3)} per week).",
            f"Quadrant tendency: {trend['quadrant']['current'] or '—'} (a tendency, not a diagnosis).",
        ]
        if latest:
            lines.append(
                f"Latest week {latest['week_start']}: anxiety {num(latest['anxiety'])}, "
                f"avoidance {num(latest['avoidance'])}, distance to secure {num(latest['distance_to_secure'])}."
            )
        story += [Paragraph(line, body) for line in lines]
        story.append(Paragraph("Weekly series", h2))
        story.append(_weekly_chart(trend["weeks"]))
        rows = [["Week", "Check-ins", "Anxiety", "Avoidance", "Distance", "EWMA anx.", "EWMA avo."]]
        rows += [
            [
                w["week_start"],
                w["checkins"],
                num(w["anxiety"]),
                num(w["avoidance"]),
                num(w["distance_to_secure"]),
                num(w["ewma"]["anxiety"]),
                num(w["ewma"]["avoidance"]),
            ]
            for w in trend["weeks"]
            if w["checkins"]
        ]
        story.append(_table(rows))
        rci = trend["statistics"]["reliable_change"]
        story.append(Paragraph("Reliable change (Jacobson & Truax; first two weeks vs latest two)", h2))
        rows = [["", "Baseline", "Now", "RC", "Result"]]
        for dimension in ("anxiety", "avoidance"):
            entry = rci[dimension]
            rows.append(
                [
                    dimension.title(),
                    num(entry.get("baseline")),
                    num(entry.get("now")),
                    num(entry["rc"]),
                    (entry["change"] or entry["reason"] or "").replace("_", " "),
                ]
            )
        joint = rci["joint"]
        rows.append(
            [
                "Joint (χ², 2 df)".replace("χ²", "chi2"),
                "",
                "",
                num(joint["chi2"]),
                (f"p = {num(joint['p'], 4)}, {'reliable' if joint['reliable'] else 'not reliable'}")
                if joint["chi2"] is not None
                else (joint["reason"] or ""),
            ]
        )
        story.append(_table(rows))
        if rci["anxiety"].get("provisional"):
            story.append(Paragraph("SD and r of this instrument are provisional.", body))
    if trend is not None and trend.get("regulation") is not None:
        regulation = trend["regulation"]
        story.append(Paragraph("Regulation by strategy (last 12 weeks)", h2))
        story.append(
            Paragraph(
                f"Episodes {regulation['episodes']}, mean intensity before {num(regulation['mean_intensity_before'])}, "
                f"mean drop {num(regulation['mean_drop'])}.",
                body,
            )
        )
        rows = [["Strategy", "Family", "Episodes", "Mean drop"]]
        rows += [
            [s["strategy"].replace("_", " "), s["family"], s["episodes"], num(s["mean_drop"])]
            for s in regulation["strategies"]
        ]
        story.append(_table(rows))
    story.append(Paragraph("Alerts since then", h2))
    if report["alerts"]:
        rows = [["Rule", "Fired", "Acknowledged"]]
        rows += [[a["rule"], _when(a["fired_at"]), _when(a["acknowledged_at"])] for a in report["alerts"]]
        story.append(_table(rows))
    else:
        story.append(Paragraph("No alerts.", body))
    story.append(Paragraph("Digest since then", h2))
    facts = []
    if digest.get("checkins") is not None:
        c = digest["checkins"]
        facts.append(
            f"Check-ins: {c['new']}; distance to secure {num(c['distance_to_secure_before'])} before, "
            f"{num(c['distance_to_secure_since'])} since (change {num(c['distance_to_secure_change'])})."
        )
    if digest.get("regulation") is not None:
        r = digest["regulation"]
        facts.append(
            f"Regulation logs: {r['episodes']} episodes, mean drop {num(r['mean_drop'])}, "
            f"safety flags {len(r['safety_flags'])}."
        )
    if digest.get("summaries") is not None:
        facts.append(f"Weekly summaries: {len(digest['summaries']['new_weeks'])} new.")
    story += [Paragraph(fact, body) for fact in facts] or [Paragraph("Nothing shared to summarise.", body)]

    buffer = BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title="Securebase session report",
        author="Securebase",
    )
    doc.build(story)
    return buffer.getvalue()
