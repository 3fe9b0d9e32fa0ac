"""The access log: one row per therapist read, visible to the client, append-only."""

import pytest
from django.db import DatabaseError, connection, transaction

from tests.sharing.factories import ShareGrantFactory, history_for
from tracker.models import AccessLogEntry

pytestmark = pytest.mark.django_db


def test_client_sees_each_read_in_its_shares_access_log(client_api, client_user, therapist, therapist_api):
    grant = ShareGrantFactory(client=client_user, therapist=therapist)
    other = ShareGrantFactory(therapist=therapist)  # another client of the same therapist
    history_for(client_user, weeks=2)
    therapist_api.get("/api/v1/clients/")
    for path in ("checkins/", "regulation-logs/", "trends/", "summaries/", "digest/"):
        assert therapist_api.get(f"/api/v1/clients/{client_user.id}/{path}").status_code == 200
    response = client_api.get(f"/api/v1/shares/{grant.id}/access-log")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [r["resource"] for r in rows] == [
        "digest",
        "summaries",
        "trends",
        "regulation_logs",
        "checkins",
        "client_list",
    ]  # newest first
    assert {r["therapist"]["display_name"] for r in rows} == {"Theo"}
    assert {r["channel"] for r in rows} == {"api"}
    # The other client's log has only the list read, and this client never sees it.
    assert AccessLogEntry.objects.filter(grant=other).count() == 1
    assert all(
        r["id"] not in set(AccessLogEntry.objects.filter(grant=other).values_list("id", flat=True)) for r in rows
    )


def test_access_log_refuses_updates_and_deletes_in_the_orm(client_user, therapist):
    grant = ShareGrantFactory(client=client_user, therapist=therapist)
    entry = AccessLogEntry.objects.create(
        grant=grant, therapist=therapist, client=client_user, resource="checkins", channel="api"
    )
    entry.resource = "trends"
    with pytest.raises(TypeError):
        entry.save()
    with pytest.raises(TypeError):
        entry.delete()
    with pytest.raises(TypeError):
        AccessLogEntry.objects.filter(pk=entry.pk).update(resource="trends")
    with pytest.raises(TypeError):
        AccessLogEntry.objects.filter(pk=entry.pk).delete()
    assert AccessLogEntry.objects.get().resource == "checkins"


def test_database_refuses_updates_to_the_access_log(client_user, therapist):
    grant = ShareGrantFactory(client=client_user, therapist=therapist)
    entry = AccessLogEntry.objects.create(
        grant=grant, therapist=therapist, client=client_user, resource="checkins", channel="api"
    )
    table = AccessLogEntry._meta.db_table
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET resource = 'trends' WHERE id = %s", [entry.pk])
    assert AccessLogEntry.objects.get().resource == "checkins"


def test_account_erasure_still_removes_the_clients_log(client_user, therapist):
    grant = ShareGrantFactory(client=client_user, therapist=therapist)
    AccessLogEntry.objects.create(
        grant=grant, therapist=therapist, client=client_user, resource="trends", channel="web"
    )
    client_user.delete()
    assert not AccessLogEntry.objects.exists()
