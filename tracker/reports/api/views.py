"""`GET clients/{id}/report/` (application/pdf): the session report of one client, within the share's scope."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.views import APIView

from tracker.common.api.schema import ERROR_RESPONSES
from tracker.models import AccessLogEntry
from tracker.reports.download import report_response
from tracker.sharing.resources import shared_resource_or_404


class ClientReportView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("client_id", type=str, location=OpenApiParameter.PATH, description="The client's id.")
        ],
        responses={
            (200, "application/pdf"): OpenApiResponse(
                response=OpenApiTypes.BINARY,
                description="A one- or two-page PDF: trajectory, weekly series, reliable change, regulation by "
                "strategy, alerts and the digest since the last session; sections outside the share's scope "
                "are absent.",
            ),
            **ERROR_RESPONSES(401, 404),
        },
        summary="A client's session report as a PDF (any shared data scope)",
        tags=["clients"],
    )
    def get(self, request, client_id):
        grant = shared_resource_or_404(therapist=request.user, client_id=client_id, scope=None)
        return report_response(grant=grant, channel=AccessLogEntry.Channel.API)
