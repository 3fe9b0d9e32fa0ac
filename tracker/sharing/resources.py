"""The registry of what a client can share: one `SharedResource` per data scope.

Everything that shows a client's data to a therapist loops over `RESOURCES`: the therapist API (one
list route per resource, `clients/<id>/<route>/`), the digest (one section per resource), the web
dashboard (one panel template per resource), the client list's status line and the client's own
preview of a share. A grant reaches a resource exactly when it holds the resource's scope; the
check is `shared_resource_or_404` (one resource) / `shared_resources` (all a grant reaches).

Adding a data scope: the `Scope` value and its `scope_<name>` field (tracker/sharing/models.py, plus
the generated migration), a `SharedResource` here, its output and digest-section serializers
(tracker/sharing/api/serializers.py) and its template (tracker/templates/dashboard/shared/<scope>.html).

The `notes` scope is not a resource but a modifier: it un-redacts the `note` of the resources whose
serializer has `RedactedNoteMixin`. This module sits at the API level: it imports serializers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone
from django_filters import rest_framework as filters
from rest_framework import serializers

from tracker.common.api.fields import FILTER_DATETIME_HELP, FilterDateTimeFilter
from tracker.models import AccessLogEntry, Scope, ShareGrant
from tracker.sharing.selectors import shared_data
from tracker.sharing.selectors.grants import grant_for_therapist
from tracker.sharing.serializers import (
    DigestBaseSerializer,
    DigestCheckinsSerializer,
    DigestRegulationSerializer,
    DigestSummariesSerializer,
    SharedCheckInSerializer,
    SharedRegulationLogSerializer,
    SharedSummarySerializer,
)

Resource = AccessLogEntry.Resource
# The trends (endpoint, preview, dashboard charts) need this scope; other resources may add parts.
TRENDS_SCOPE = Scope.CHECKINS


class OccurredFilter(filters.FilterSet):
    """since/until as on the client's own lists: the same parsing, offsets and range (common fields)."""

    since = FilterDateTimeFilter(field_name="occurred_at", lookup_expr="gte", help_text=FILTER_DATETIME_HELP)
    until = FilterDateTimeFilter(field_name="occurred_at", lookup_expr="lt", help_text=FILTER_DATETIME_HELP)
    # since ≥ until is an empty window (an empty list), as on the client's own lists.


@dataclass(frozen=True)
class SharedResource:
    scope: str  # the Scope value that grants it
    route: str  # the therapist API's list route: clients/<id>/<route>/
    log_as: str  # the access-log resource written for each read of that route
    rows: Callable[..., QuerySet]  # selector: rows(grant=…) → the client's rows
    ordering: tuple[str, ...]  # newest first, unique
    serializer: type[serializers.Serializer]  # one row as the therapist sees it
    digest_key: str  # the digest's section for this resource
    digest: Callable[..., dict]  # digest(grant=…, since=…, now=…) → that section
    digest_serializer: type[serializers.Serializer]
    filterset_class: type | None = OccurredFilter  # the list route's since/until filters
    # Parts of composite answers that only this scope reveals (set to null without it).
    status_keys: tuple[str, ...] = ()  # figures of the client list's status line
    trend_keys: tuple[str, ...] = ()  # sections of the trend report

    def __post_init__(self):
        object.__setattr__(self, "scope", str(self.scope))  # a plain str key, not the enum member

    @property
    def label(self) -> str:
        return Scope(self.scope).label

    @property
    def url_name(self) -> str:
        return f"client-{self.route}"

    @property
    def template(self) -> str:
        """The dashboard's panel and digest facts for this resource (`part` is "panel" or "digest")."""
        return f"dashboard/shared/{self.scope}.html"


RESOURCES: dict[str, SharedResource] = {
    resource.scope: resource
    for resource in (
        SharedResource(
            scope=Scope.CHECKINS,
            route="checkins",
            log_as=Resource.CHECKINS,
            rows=shared_data.shared_checkins,
            ordering=("-occurred_at", "-id"),
            serializer=SharedCheckInSerializer,
            digest_key="checkins",
            digest=shared_data.digest_checkins,
            digest_serializer=DigestCheckinsSerializer,
            status_keys=("last_checkin_at", "direction"),
            trend_keys=("weeks", "trajectory", "statistics", "direction", "quadrant", "adherence"),
        ),
        SharedResource(
            scope=Scope.REGULATION_LOGS,
            route="regulation-logs",
            log_as=Resource.REGULATION_LOGS,
            rows=shared_data.shared_regulation_logs,
            ordering=("-occurred_at", "-id"),
            serializer=SharedRegulationLogSerializer,
            digest_key="regulation",
            digest=shared_data.digest_regulation,
            digest_serializer=DigestRegulationSerializer,
            status_keys=("safety_flags_since_last_session",),
            trend_keys=("regulation",),
        ),
        SharedResource(
            scope=Scope.SUMMARIES,
            route="summaries",
            log_as=Resource.SUMMARIES,
            rows=shared_data.shared_summaries,
            ordering=("-week_start", "-id"),
            serializer=SharedSummarySerializer,
            filterset_class=None,
            digest_key="summaries",
            digest=shared_data.digest_summaries,
            digest_serializer=DigestSummariesSerializer,
        ),
    )
}
# The scopes that show data (a page or digest with nothing but `notes` would show nothing).
DATA_SCOPES: tuple[str, ...] = tuple(RESOURCES)


def shared_resources(grant: ShareGrant) -> list[SharedResource]:
    """The resources this grant reaches, in registry order."""
    return [resource for resource in RESOURCES.values() if grant.allows(resource.scope)]


def shared_resource_or_404(*, therapist, client_id, scope: str | None) -> ShareGrant:
    """The live grant through which `therapist` reads `scope` of `client_id`'s data, or Http404.

    `scope=None`: any resource will do (the digest, the dashboard page)."""
    any_of = DATA_SCOPES if scope is None else [scope]
    return grant_for_therapist(therapist=therapist, client_id=client_id, any_of=any_of)


def _cut(body: dict, grant: ShareGrant, keys: Callable[[SharedResource], tuple[str, ...]]) -> dict:
    for resource in RESOURCES.values():
        if not grant.allows(resource.scope):
            for key in keys(resource):
                body[key] = None
    return body


def status_line(grant: ShareGrant, direction: str | None) -> dict:
    """The client list's one line per client; each figure only where its resource is shared."""
    line = {
        "last_checkin_at": grant.last_checkin_at,
        "direction": direction,
        "safety_flags_since_last_session": grant.safety_flags_since,
        "last_session_at": grant.last_session_at,
    }
    return _cut(line, grant, lambda resource: resource.status_keys)


def shared_trend(*, grant: ShareGrant, now: datetime | None = None) -> dict | None:
    """The client's trend report cut to the grant (None when no shared resource shows any part of it)."""
    if not any(resource.trend_keys for resource in shared_resources(grant)):
        return None
    trend = shared_data.trend_for_client(user=grant.client, now=now)
    return _cut(trend, grant, lambda resource: resource.trend_keys)


def digest_for_grant(*, grant: ShareGrant, now: datetime | None = None) -> dict:
    """What changed since the therapist last marked a session (or since the share began), per resource."""
    now = now or timezone.now()
    since, last_session = shared_data.digest_since(grant=grant)
    digest: dict = {"since": since, "last_session_at": last_session}
    for resource in RESOURCES.values():
        shared = grant.allows(resource.scope)
        digest[resource.digest_key] = resource.digest(grant=grant, since=since, now=now) if shared else None
    return digest


DigestSerializer = type(
    "DigestSerializer",
    (DigestBaseSerializer,),
    {
        "__doc__": "What changed since the last marked session: one section per shared resource (null: not shared).",
        "__module__": __name__,
        **{
            resource.digest_key: resource.digest_serializer(
                allow_null=True, help_text=f"null: {resource.label.lower()} are not shared."
            )
            for resource in RESOURCES.values()
        },
    },
)
