"""The list and detail endpoints every entry type shares (check-ins, regulation logs, …).

An entry type's API is one `EntryApi` value: its serializers, its selectors and its service
functions. `EntryListView` (GET list, POST create) and `EntryDetailView` (GET, PATCH, DELETE) do the
rest the same way for every type; a module only subclasses them with `api = …` and its schema texts
(`list_view_schema`, `detail_view_schema`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

from django.db import models
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from tracker.common.api.fields import FILTER_DATETIME_HELP, FilterDateTimeField
from tracker.common.api.schema import ERROR_RESPONSES
from tracker.common.errors import NotFound
from tracker.entries.services.entries import EntryWrite, WriteOutcome


class ListQuerySerializer(serializers.Serializer):
    since = FilterDateTimeField(
        required=False, help_text="Only entries with occurred_at ≥ since. " + FILTER_DATETIME_HELP
    )
    until = FilterDateTimeField(
        required=False, help_text="Only entries with occurred_at < until (exclusive). " + FILTER_DATETIME_HELP
    )

    # since ≥ until is an empty window, answered with an empty list (not a 400): each bound is valid
    # on its own, and a rule across two parameters is one the schema cannot state.


def raise_for(outcome: WriteOutcome) -> None:
    if outcome.error is not None:
        raise outcome.error


@dataclass(frozen=True)
class EntryApi:
    """How the REST endpoints (and the sync endpoint) read and write one entry type."""

    name: str  # the `type` in the sync protocol, e.g. "checkin"
    model: type[models.Model]
    serializer: type[serializers.Serializer]  # the read shape in lists and the sync feed
    detail_serializer: type[serializers.Serializer]  # the single-entry shape (create, detail, edit)
    write_serializer: type[serializers.Serializer]  # a create as the phone sends it
    update_serializer: type[serializers.Serializer]  # a PATCH (every field optional)
    list_query: type[serializers.Serializer]  # query-string filters of the list
    # Selectors: `list(user=…, **filters)` → queryset; `get(user=…, id=…)` → row or None.
    list: Callable[..., models.QuerySet]
    get: Callable[..., models.Model | None]
    # Services, each returning a WriteOutcome: create(user, **validated), update(user, row, changes,
    # base_revision), delete(user, row).
    create: Callable[..., WriteOutcome]
    update: Callable[..., WriteOutcome]
    delete: Callable[..., WriteOutcome]
    # A sync batch item → a validated EntryWrite (raises ValidationError).
    write_from_record: Callable[..., EntryWrite]
    # Extra serializer context a write needs (e.g. the instrument catalog); called once per request.
    write_context: Callable[[], dict] = field(default=dict)


# GET: the user's entries of one type, newest first; POST: create one (idempotent on its id).
# (Comments, not docstrings: a view's docstring would become every operation's description.)
class EntryListView(GenericAPIView):
    api: ClassVar[EntryApi]

    def get_serializer_class(self):
        return self.api.serializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return self.api.model.objects.none()
        query = self.api.list_query(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return self.api.list(user=self.request.user, **query.validated_data)

    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.api.serializer(page, many=True).data)

    def post(self, request):
        data = self.api.write_serializer(data=request.data, context=self.api.write_context())
        data.is_valid(raise_exception=True)
        outcome = self.api.create(user=request.user, **data.validated_data)
        raise_for(outcome)
        code = status.HTTP_201_CREATED if outcome.status == "created" else status.HTTP_200_OK
        return Response(self.api.detail_serializer(outcome.row, context={"request": request}).data, status=code)


# GET, PATCH (edit or complete within the type's rules) and DELETE (a tombstone) one entry.
class EntryDetailView(GenericAPIView):
    api: ClassVar[EntryApi]

    def get_serializer_class(self):
        return self.api.detail_serializer

    def get_object(self):
        row = self.api.get(user=self.request.user, id=self.kwargs["pk"])
        if row is None:
            raise NotFound()
        return row

    def _body(self, row) -> dict:
        return self.api.detail_serializer(row, context={"request": self.request}).data

    def get(self, request, pk):
        return Response(self._body(self.get_object()))

    def patch(self, request, pk):
        row = self.get_object()
        data = self.api.update_serializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        base_revision = changes.pop("revision", None)
        outcome = self.api.update(user=request.user, row=row, changes=changes, base_revision=base_revision)
        raise_for(outcome)
        return Response(self._body(outcome.row))

    def delete(self, request, pk):
        outcome = self.api.delete(user=request.user, row=self.get_object())
        raise_for(outcome)
        return Response(status=status.HTTP_204_NO_CONTENT)


def list_view_schema(
    api: EntryApi,
    *,
    summary: str,
    create_summary: str,
    create_description: str,
    created: str,
    retried: str = "A retry: stored with this same body.",
):
    """The OpenAPI description of an `EntryListView` subclass (only the texts differ per type)."""
    return extend_schema_view(
        get=extend_schema(
            parameters=[api.list_query],
            responses={200: api.serializer(many=True), **ERROR_RESPONSES(400, 401, 404)},
            summary=summary,
            description="404 for a cursor that was not handed out by this endpoint.",
        ),
        post=extend_schema(
            request=api.write_serializer,
            responses={
                201: OpenApiResponse(api.detail_serializer, description=created),
                200: OpenApiResponse(api.detail_serializer, description=retried),
                **ERROR_RESPONSES(400, 401, 409, 413),
            },
            summary=create_summary,
            description=create_description,
        ),
    )


def detail_view_schema(api: EntryApi, *, noun: str, edit_summary: str, edit_description: str, delete_summary: str):
    """The OpenAPI description of an `EntryDetailView` subclass."""
    return extend_schema_view(
        get=extend_schema(responses={200: api.detail_serializer, **ERROR_RESPONSES(401, 404)}, summary=f"One {noun}"),
        patch=extend_schema(
            request=api.update_serializer,
            responses={200: api.detail_serializer, **ERROR_RESPONSES(400, 401, 404, 409, 413)},
            summary=edit_summary,
            description=edit_description,
        ),
        delete=extend_schema(request=None, responses={204: None, **ERROR_RESPONSES(401, 404)}, summary=delete_summary),
    )
