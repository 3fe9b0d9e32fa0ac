"""Key rotation for encrypted notes: re-encrypt every stored token with the newest key."""

from __future__ import annotations

from django.db import connection, transaction

from tracker.common import crypto
from tracker.models import CheckIn, RegulationLog


def notes_reencrypt(*, batch_size: int = 500) -> dict[str, int]:
    """Rotate every non-empty note to the newest key, in batches of short transactions.

    Works on the raw tokens (MultiFernet.rotate), so plaintext never passes through model instances;
    an interrupted run can simply be started again."""
    counts: dict[str, int] = {}
    for model in (CheckIn, RegulationLog):
        table = connection.ops.quote_name(model._meta.db_table)
        done, last_id = 0, None
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                where, params = ("note <> ''", [])
                if last_id is not None:
                    where, params = ("note <> '' AND id > %s", [last_id])
                cursor.execute(
                    f"SELECT id, note FROM {table} WHERE {where} ORDER BY id LIMIT %s",  # noqa: S608
                    [*params, batch_size],
                )
                rows = cursor.fetchall()
                for row_id, token in rows:
                    cursor.execute(f"UPDATE {table} SET note = %s WHERE id = %s", [crypto.rotate(token), row_id])  # noqa: S608
            if not rows:
                break
            done += len(rows)
            last_id = rows[-1][0]
        counts[model._meta.db_table] = done
    return counts
