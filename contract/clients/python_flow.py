"""A phone's life cycle on the Python client that openapi-python-client generated from the live
/api/schema/ (bin/client-checks): register, create two check-ins, push one's deletion through sync, pull
the feed until it holds the tombstone, erase the account and see the token stop working.

Usage: python contract/clients/python_flow.py BASE_URL GENERATED_DIR (GENERATED_DIR holds the
generated package `securebase_client`). Every answer is parsed into the generated models; any
unexpected status or shape fails."""

from __future__ import annotations

import sys
import uuid
from datetime import UTC, datetime


def main(base_url: str, generated_dir: str) -> str:
    sys.path.insert(0, generated_dir)
    from securebase_client import AuthenticatedClient, Client
    from securebase_client.api.auth import register
    from securebase_client.api.checkins import create_checkin
    from securebase_client.api.me import delete_account, get_me
    from securebase_client.api.sync import sync_pull, sync_push
    from securebase_client.models import (
        CheckIn,
        CheckInCreate,
        CheckInDetail,
        MeDeleteRequest,
        RegisterRequest,
        ResponseItemRequest,
        SyncChangeOp,
        SyncCheckInPushItem,
        SyncCheckInPushItemType,
        SyncFeed,
        SyncPushBatch,
        SyncPushOp,
        SyncPushResults,
        SyncPushStatus,
        TimezoneEnum,
        TokenResponse,
    )

    password = "a-long-generated-client-passphrase"
    email = f"python-client-{uuid.uuid4().hex[:12]}@example.org"
    anonymous = Client(base_url=base_url, raise_on_unexpected_status=True)
    registered = register.sync_detailed(
        client=anonymous,
        body=RegisterRequest(email=email, password=password, timezone=TimezoneEnum.EUROPE_BERLIN, device_name="python"),
    )
    assert registered.status_code == 201 and isinstance(registered.parsed, TokenResponse), registered
    api = AuthenticatedClient(
        base_url=base_url, token=registered.parsed.token, prefix="Token", raise_on_unexpected_status=True
    )

    kept_id, checkin_id = str(uuid.uuid4()), str(uuid.uuid4())
    for id_ in (kept_id, checkin_id):
        created = create_checkin.sync_detailed(
            client=api,
            body=CheckInCreate(
                id=id_,
                instrument="wmc",
                occurred_at=datetime.now(UTC),
                responses=[ResponseItemRequest(item=item, value=4) for item in range(1, 9)],
            ),  # `note` left out: optional
        )
        assert created.status_code == 201 and isinstance(created.parsed, CheckInDetail), created
        assert created.parsed.scores.quadrant is not None

    pushed = sync_push.sync_detailed(
        client=api,
        body=SyncPushBatch(
            items=[SyncCheckInPushItem(type_=SyncCheckInPushItemType.CHECKIN, op=SyncPushOp.DELETE, id=checkin_id)]
        ),
    )
    assert pushed.status_code == 200 and isinstance(pushed.parsed, SyncPushResults), pushed
    assert [r.status for r in pushed.parsed.results] == [SyncPushStatus.DELETED], pushed.parsed

    changes, cursor = [], None
    while True:
        page = sync_pull.sync_detailed(client=api, limit=1, **({"cursor": cursor} if cursor else {}))
        assert page.status_code == 200 and isinstance(page.parsed, SyncFeed), page
        changes += page.parsed.changes
        cursor = page.parsed.cursor
        if not page.parsed.has_more:
            break
    tombstones = [c for c in changes if c.op == SyncChangeOp.DELETE and str(c.id) == checkin_id]
    assert len(tombstones) == 1 and tombstones[0].record is None and tombstones[0].deleted_at, changes
    upserts = [c for c in changes if c.op == SyncChangeOp.UPSERT]
    assert [str(c.id) for c in upserts] == [kept_id] and isinstance(upserts[0].record, CheckIn), changes

    erased = delete_account.sync_detailed(client=api, body=MeDeleteRequest(password=password))
    assert erased.status_code == 204, erased
    after = get_me.sync_detailed(client=api)
    assert after.status_code == 401, after
    return (
        f"registered, 2 check-ins created ({created.parsed.scores.quadrant}), one deleted via sync push, "
        f"{len(changes)} feed changes pulled in pages of 1 (an upsert and the tombstone), "
        "account erased (token then 401)"
    )


if __name__ == "__main__":
    print("python client:", main(sys.argv[1], sys.argv[2]))
