"""Cursor pagination: opaque cursors, stable under inserts, a bounded page size."""

from django.conf import settings
from rest_framework import pagination
from rest_framework.response import Response

from tracker.common.errors import Invalid


class CursorPagination(pagination.CursorPagination):
    """Opaque cursors, stable under inserts; `{"results": [...], "next": url|null}`."""

    page_size = settings.REST_FRAMEWORK["PAGE_SIZE"]
    page_size_query_param = "page_size"
    max_page_size = settings.API_MAX_PAGE_SIZE
    ordering = ("-occurred_at", "-id")

    def get_page_size(self, request):
        """`page_size` is an integer from 1 to max_page_size, or left out (or empty) for the default.

        DRF falls back to the default for anything else (`0`, `-3`, `abc`) and caps large values
        silently; a client sending those has a bug it should hear about, and the schema can then
        say exactly what is accepted (minimum/maximum)."""
        raw = request.query_params.get(self.page_size_query_param, "")
        if raw == "":
            return self.page_size
        if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= self.max_page_size:
            raise Invalid(
                {
                    self.page_size_query_param: [
                        f"An integer from 1 to {self.max_page_size}; leave it out for {self.page_size}."
                    ]
                }
            )
        return int(raw)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": self.max_page_size}
                parameter["description"] = (
                    f"Results per page, 1-{self.max_page_size}; left out or empty: {self.page_size}."
                )
        return parameters

    def get_paginated_response(self, data):
        return Response({"results": data, "next": self.get_next_link()})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results", "next"],
            "properties": {
                "results": schema,
                "next": {"type": "string", "nullable": True, "format": "uri"},
            },
        }
