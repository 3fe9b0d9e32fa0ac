"""Account erasure (`DELETE /me`): the user and every row that is theirs, in one transaction.

Every model that points at the user does so with `on_delete=CASCADE` (tests walk
`apps.get_models()` to keep it that way), so deleting the user row deletes check-ins, regulation
logs, summaries, the change counter, reminder schedule, devices, inbox, deliveries (with their
dispatches and attempts), login tokens, share invites, grants on either side (so a therapist's
client list loses the client, and a therapist's own erasure ends the grants they held), therapy
sessions and the access log. The access log is append-only for UPDATE (ORM guard and database
trigger); DELETE is allowed, and Django's cascade deletes it with raw queries that bypass the
ORM guard, so erasure works on both SQLite and PostgreSQL.

Why the row lock first: the weekly-summary job claims users with `SELECT … FOR UPDATE SKIP LOCKED`
and writes summaries with statements that join `tracker_user`. Holding the user's row lock from
before the cascade collects rows until commit means the job either finished with this user before
(and its rows are collected and deleted) or skips them, so no summary can be written for a user
between collection and delete. On SQLite the immediate transaction serializes writers anyway."""

from __future__ import annotations

import logging
import time

from django.db import OperationalError, transaction

from tracker.accounts.services import InvalidCredentials, credentials_check
from tracker.common.errors import Invalid
from tracker.models import User

logger = logging.getLogger(__name__)

# A deadlock victim or a serialization failure is transient: erasure retries it itself.
ERASE_ATTEMPTS = 4


def user_erase(*, user: User, password: str) -> None:
    """Erase `user` if `password` is theirs; wrong password → `Invalid` on `password`.

    The password is checked through the login lockout (`credentials_check`), so a stolen token cannot
    be used to guess the password here either: repeated failures raise `LoginLocked` like login."""
    try:
        credentials_check(email=user.email, password=password)
    except InvalidCredentials:
        raise Invalid({"password": ["The password is wrong."]}) from None
    for attempt in range(1, ERASE_ATTEMPTS + 1):
        try:
            _erase(user_id=user.pk)
            return
        except OperationalError:
            if attempt == ERASE_ATTEMPTS:
                raise
            logger.warning("erasure: transient database error, retrying (attempt %d)", attempt, exc_info=True)
            time.sleep(0.05 * 2**attempt)


def _erase(*, user_id) -> None:
    with transaction.atomic():
        # The user row first: the reminder tick locks schedule and user rows together with SKIP LOCKED
        # and a push in flight holds FOR KEY SHARE on it, so this waits for a send in progress and
        # no sender finds the user once this commits.
        locked = User.objects.select_for_update().filter(pk=user_id).first()
        if locked is None:
            return  # erased already (a concurrent request): the outcome the caller wanted
        # Login tokens go with the cascade; deleting them is part of the same transaction, so a
        # token stops working exactly when the data is gone, never before or after.
        locked.delete()
