"""The report as an HTTP download, shared by the API view and the dashboard page."""

from __future__ import annotations

from django.http import HttpResponse

from tracker.models import AccessLogEntry
from tracker.reports.render import session_report_pdf
from tracker.reports.selectors import session_report
from tracker.sharing import services as sharing


def report_response(*, grant, channel: str) -> HttpResponse:
    """The PDF as a download, logged as a read (the API and the dashboard both answer with this)."""
    pdf = session_report_pdf(session_report(grant=grant))
    sharing.access_log_write(grants=[grant], resource=AccessLogEntry.Resource.REPORT, channel=channel)
    response = HttpResponse(pdf, content_type="application/pdf")
    # The file name carries no name or health data, only the client's opaque id.
    response["Content-Disposition"] = f'attachment; filename="session-report-{grant.client_id}.pdf"'
    response["Cache-Control"] = "no-store"
    return response
