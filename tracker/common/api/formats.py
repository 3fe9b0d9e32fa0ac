"""Response formats chosen with `?format=` (DRF's URL format override) or the Accept header.

DRF answers an unknown `?format=` with a 404 (no renderer for it); for us a wrong parameter is the
client's mistake, so it is a 400 in the error shape, naming the formats the route offers. The FHIR
renderer serves `application/fhir+json`, the media type FHIR defines for its JSON (what FHIR
clients send in Accept); errors on such a route stay `application/json` in our one error shape."""

from __future__ import annotations

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.settings import api_settings

from tracker.common.errors import Invalid

FHIR_JSON = "application/fhir+json"


class FhirJSONRenderer(JSONRenderer):
    """JSON under FHIR's media type (the body is already FHIR JSON: `tracker.data_rights.fhir`)."""

    media_type = FHIR_JSON
    format = "fhir"


class FormatParamNegotiation(DefaultContentNegotiation):
    """Like DRF's, but a `format` no renderer of the view offers is a 400, not a 404."""

    def select_renderer(self, request, renderers, format_suffix=None):
        # Empty is left out, as for every query parameter of the API (then the Accept header decides).
        requested = request.query_params.get(api_settings.URL_FORMAT_OVERRIDE)
        if requested and requested not in {renderer.format for renderer in renderers}:
            offered = ", ".join(renderer.format for renderer in renderers)
            raise Invalid({"format": [f"Unknown format; this route offers: {offered}."]})
        return super().select_renderer(request, renderers, format_suffix)


class ErrorsAsJsonMixin:
    """Errors keep `application/json` (the error shape is ours, not a FHIR OperationOutcome)."""

    def finalize_response(self, request, response, *args, **kwargs):
        if response.status_code >= 400 and getattr(request, "accepted_renderer", None) is not None:
            if request.accepted_renderer.format != "json":
                request.accepted_renderer = JSONRenderer()
                request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)
