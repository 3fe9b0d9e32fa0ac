"""The client list and the client page cost the same number of queries for 5 and for 50 clients
(and for a client with a little or a lot of data), on the API and on the web dashboard."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.factories import TherapistFactory, UserFactory
from tests.helpers import web_login
from tests.sharing.factories import RegulationLogFactory, ShareGrantFactory, history_for
from tracker.models import DeviceToken

pytestmark = pytest.mark.django_db

# Measured (SQLite and PostgreSQL): API list 6, web list 6, API digest 9, web client page 14.
# The ceilings leave a little room, no more.
# Since clinics and the second factor: +1 per request for the authenticator check (API gate, or the
# dashboard gate), +1 on the web for django-otp loading the session's device, and verification is a
# query on memberships instead of a column (+1 where it is asked twice). The client page's alert mark
# (open alerts of the grant) is one more. None of them grows with data.
CEILINGS = {"api_list": 8, "web_list": 10, "api_page": 11, "web_page": 18}


def world(n_clients: int, weeks: int):
    therapist = TherapistFactory()
    clients = []
    for i in range(n_clients):
        client = UserFactory(timezone=["Europe/Berlin", "America/New_York", "Asia/Tokyo"][i % 3])
        ShareGrantFactory(client=client, therapist=therapist, scope_notes=bool(i % 2))
        history_for(client, weeks=weeks if i == 0 else 2)
        RegulationLogFactory(user=client, safety_flag=True)
        clients.append(client)
    return therapist, clients


def count(fn) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = fn()
    assert response.status_code == 200, response.content[:300]
    return len(queries)


def measure(n_clients: int, weeks: int) -> dict:
    therapist, clients = world(n_clients, weeks)
    from rest_framework.test import APIClient

    api = APIClient()
    _, token = DeviceToken.objects.create(user=therapist)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    web = Client()
    web_login(web, therapist)
    first = clients[0].id
    web.get("/dashboard/")  # warm the session row so both sizes start alike
    result = {
        "api_list": count(lambda: api.get("/api/v1/clients/?page_size=200")),
        "web_list": count(lambda: web.get("/dashboard/")),
        "api_page": count(lambda: api.get(f"/api/v1/clients/{first}/digest/")),
        "web_page": count(lambda: web.get(f"/dashboard/clients/{first}/")),
    }
    listed = api.get("/api/v1/clients/?page_size=200").json()["results"]
    assert len(listed) == n_clients
    return result


def test_query_counts_do_not_grow_with_clients_or_data(capsys):
    small = measure(5, weeks=2)
    from tracker.models import User

    User.objects.all().delete()
    large = measure(50, weeks=12)
    with capsys.disabled():
        print(f"\nqueries at 5 clients: {small}\nqueries at 50 clients: {large}")
    assert small == large
    for key, ceiling in CEILINGS.items():
        assert large[key] <= ceiling, (key, large[key])
