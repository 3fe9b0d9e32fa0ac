"""Sharing writes: invites, accepting them, scope changes, revocation, sessions, the access log."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from tracker.common import lockout
from tracker.common.errors import Conflict, Forbidden, NotFound, Throttled
from tracker.common.sql import insert_rows
from tracker.models import AccessLogEntry, ShareGrant, ShareInvite, TherapySession, User
from tracker.sharing.models import ALL_SCOPES

# Crockford's base32 already drops I, L, O and U; we also drop 0 and 1, which read like O and I/L.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 10  # 30**10 ≈ 5.9e14 codes


@dataclass(frozen=True)
class CreatedInvite:
    invite: ShareInvite
    code: str  # shown to the client once; only its HMAC is stored


class AcceptThrottled(Throttled):
    message = "Too many wrong codes; try again later."


class InvalidInviteCode(NotFound):
    """404: no open invite has this code. Any string is a well-formed code, so this is "not found",
    not a malformed request (the schema cannot tell a live code from a mistyped one)."""

    def __init__(self) -> None:
        super().__init__(
            "This code is not valid: it may be mistyped, used or expired.",
            code="invalid_code",
            fields={"code": ["Invalid."]},
        )


def format_code(raw: str) -> str:
    return f"{raw[:5]}-{raw[5:]}"


def normalize_code(code: str) -> str:
    """Accept the code as people type it: any case, with or without dashes and spaces."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


def code_hash(code: str) -> str:
    # Keyed, so a leaked table of hashes cannot be brute-forced offline without the secret key.
    return hmac.new(settings.SECRET_KEY.encode(), normalize_code(code).encode(), hashlib.sha256).hexdigest()


def _require_scopes(scopes: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(scopes))
    unknown = [s for s in chosen if s not in ALL_SCOPES]
    if unknown:
        raise ValueError(f"unknown scopes: {unknown}")
    if not chosen:
        raise ValueError("a share needs at least one scope")
    return chosen


@transaction.atomic
def invite_create(
    *, client: User, scopes: Iterable[str], grant_expires_at: datetime | None = None, now: datetime | None = None
) -> CreatedInvite:
    """A single-use code for one therapist, valid SHARE_INVITE_TTL_HOURS."""
    now = now or timezone.now()
    chosen = _require_scopes(scopes)
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    invite = ShareInvite(
        client=client,
        code_hash=code_hash(raw),
        created_at=now,
        expires_at=now + timedelta(hours=settings.SHARE_INVITE_TTL_HOURS),
        grant_expires_at=grant_expires_at,
    )
    invite.set_scopes(chosen)
    invite.save()
    return CreatedInvite(invite=invite, code=format_code(raw))


def invite_cancel(*, client: User, invite_id, now: datetime | None = None) -> bool:
    """Withdraw a pending invite so its code can no longer be redeemed. False when this client has no
    such pending invite (someone else's, already used, or expired).

    The row is deleted rather than marked: an unused invite carries nothing worth keeping, and a single
    conditional DELETE cannot interleave with `invite_accept`'s conditional UPDATE — whichever runs
    first wins, the other finds no row it may touch."""
    deleted, _ = ShareInvite.objects.filter(
        pk=invite_id, client=client, used_at__isnull=True, expires_at__gt=now or timezone.now()
    ).delete()
    return bool(deleted)


# --- accepting, with guessing throttled per therapist and per IP -----------------------------------


def _check_not_locked(idents: dict[str, str]) -> None:
    waits = [lockout.lock_retry_after(scope=f"share-accept:{kind}", ident=ident) for kind, ident in idents.items()]
    waits = [wait for wait in waits if wait is not None]
    if waits:
        raise AcceptThrottled(retry_after=max(waits))


def _record_failure(idents: dict[str, str]) -> None:
    limits = {"therapist": settings.SHARE_ACCEPT_FAILURES_PER_THERAPIST, "ip": settings.SHARE_ACCEPT_FAILURES_PER_IP}
    for kind, ident in idents.items():
        lockout.failure_record(
            scope=f"share-accept:{kind}",
            ident=ident,
            limit=limits[kind],
            lock_seconds=settings.SHARE_ACCEPT_WINDOW_SECONDS,
        )


NOT_A_VERIFIED_THERAPIST = "not_a_verified_therapist"


def invite_accept(*, therapist: User, code: str, ip: str, now: datetime | None = None) -> ShareGrant:
    """Turn a client's invite into an active grant for this therapist.

    Raises Forbidden for anyone but a verified therapist, AcceptThrottled while this therapist
    or this IP address is locked out, InvalidInviteCode for unknown, used or expired codes (each of
    which counts toward the lockout), and Conflict when this client already shares with them."""
    if not therapist.is_therapist:
        raise Forbidden("Only therapists can accept a share.", code=NOT_A_VERIFIED_THERAPIST)
    if not therapist.is_verified_therapist:
        raise Forbidden("Your therapist account is not verified yet.", code=NOT_A_VERIFIED_THERAPIST)
    idents = {"therapist": str(therapist.pk), "ip": ip or "unknown"}
    _check_not_locked(idents)

    now = now or timezone.now()
    with transaction.atomic():
        invite = ShareInvite.objects.filter(code_hash=code_hash(code)).first()
        # The conditional UPDATE is the single-use guard: of two racing accepts exactly one wins.
        claimed = (
            invite is not None
            and ShareInvite.objects.filter(pk=invite.pk, used_at__isnull=True, expires_at__gt=now).update(used_at=now)
            == 1
        )
        if claimed:
            grant = ShareGrant(
                client_id=invite.client_id,
                therapist=therapist,
                created_at=invite.created_at,
                accepted_at=now,
                expires_at=invite.grant_expires_at,
            )
            grant.set_scopes(invite.scopes)
            try:
                with transaction.atomic():
                    grant.save()
            except IntegrityError:
                # Leave the invite unused: the client may still give it to someone else.
                raise Conflict(
                    "This client already shares with you; they can change scopes instead.", code="already_shared"
                ) from None
            ShareInvite.objects.filter(pk=invite.pk).update(grant=grant)
            return grant
    _record_failure(idents)
    raise InvalidInviteCode()


# --- the client's control ---------------------------------------------------------------------------


@transaction.atomic
def grant_update(
    *, grant: ShareGrant, scopes: Iterable[str] | None = None, expires_at: datetime | object | None = ...
) -> ShareGrant:
    """Change what an active share covers (or until when). Applies on the therapist's next request."""
    grant = ShareGrant.objects.select_for_update().get(pk=grant.pk)
    if grant.effective_status() != ShareGrant.Status.ACTIVE:
        raise Conflict("This share is revoked or expired; create a new invite instead.", code="share_not_active")
    fields = []
    if scopes is not None:
        grant.set_scopes(_require_scopes(scopes))
        fields += [f"scope_{s}" for s in ALL_SCOPES]
    if expires_at is not ...:
        grant.expires_at = expires_at
        fields.append("expires_at")
    if fields:
        grant.save(update_fields=fields)
    return grant


@transaction.atomic
def grant_revoke(
    *, grant: ShareGrant, by: str = ShareGrant.RevokedBy.CLIENT, now: datetime | None = None
) -> ShareGrant:
    """End a share, by the client (revoke) or the therapist (end). Idempotent: revoking twice keeps
    the first revocation's time and side."""
    ShareGrant.objects.filter(pk=grant.pk, status=ShareGrant.Status.ACTIVE).update(
        status=ShareGrant.Status.REVOKED, revoked_at=now or timezone.now(), revoked_by=by
    )
    grant.refresh_from_db()
    return grant


# --- therapist side ------------------------------------------------------------------------------------


def session_mark(*, grant: ShareGrant, occurred_at: datetime | None = None) -> TherapySession:
    return TherapySession.objects.create(
        grant=grant,
        therapist_id=grant.therapist_id,
        client_id=grant.client_id,
        occurred_at=occurred_at or timezone.now(),
    )


def access_log_write(*, grants: Iterable[ShareGrant], resource: str, channel: str) -> int:
    """One row per grant read, written in a single INSERT for a whole page of clients (≤ 200).

    `insert_rows` rather than `bulk_create`: Django splits a SQLite bulk_create into batches of
    999 parameters (166 rows here), so a 200-client page took two statements on SQLite."""
    now = timezone.now()
    rows = [
        {
            "grant_id": g.pk,
            "therapist_id": g.therapist_id,
            "client_id": g.client_id,
            "resource": resource,
            "channel": channel,
            "accessed_at": now,
        }
        for g in grants
    ]
    insert_rows(AccessLogEntry, rows)
    return len(rows)
