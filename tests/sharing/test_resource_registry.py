"""The registry of shared resources drives every place a therapist sees a client's data.

Parametrised over `RESOURCES`: a new scope registered there is covered here without a new test.
With only that scope a grant reaches the resource's route, digest section, preview key and dashboard
panel; with every scope but that one it reaches none of them (the route is a 404)."""

import pytest
from django.urls import reverse

from tests.helpers import web_login
from tests.sharing.factories import RegulationLogFactory, ShareGrantFactory, WeeklySummaryFactory, history_for
from tracker.models import AccessLogEntry
from tracker.sharing.models import ALL_SCOPES, DEFAULT_SCOPES, Scope
from tracker.sharing.resources import DATA_SCOPES, RESOURCES

pytestmark = pytest.mark.django_db

REGISTERED = list(RESOURCES.values())


def grant_fields(*, only: str | None = None, without: str | None = None) -> dict:
    if only is not None:
        return {f"scope_{s}": s == only for s in ALL_SCOPES}
    return {f"scope_{s}": s != without for s in ALL_SCOPES}


@pytest.fixture
def shared_data(client_user):
    history_for(client_user, weeks=3)
    RegulationLogFactory(user=client_user, safety_flag=True)
    WeeklySummaryFactory(user=client_user)
    return client_user


def test_every_data_scope_is_registered_and_shared_by_default():
    assert set(DATA_SCOPES) == set(ALL_SCOPES) - {Scope.NOTES}
    assert set(DEFAULT_SCOPES) == set(DATA_SCOPES)
    assert len({r.route for r in REGISTERED}) == len(REGISTERED)
    assert len({r.digest_key for r in REGISTERED}) == len(REGISTERED)


@pytest.mark.parametrize("resource", REGISTERED, ids=[r.scope for r in REGISTERED])
def test_the_scope_alone_opens_its_route_digest_section_preview_and_panel(
    resource, shared_data, therapist, therapist_api, client_api, client
):
    grant = ShareGrantFactory(client=shared_data, therapist=therapist, **grant_fields(only=resource.scope))
    url = reverse(resource.url_name, kwargs={"client_id": shared_data.id})
    assert url == f"/api/v1/clients/{shared_data.id}/{resource.route}/"

    response = therapist_api.get(url)
    assert response.status_code == 200, response.content
    assert response.json()["results"], "the fixture has rows of every resource"
    assert AccessLogEntry.objects.filter(grant=grant, resource=resource.log_as).count() == 1

    digest = therapist_api.get(f"/api/v1/clients/{shared_data.id}/digest/").json()
    assert digest[resource.digest_key] is not None
    assert all(digest[r.digest_key] is None for r in REGISTERED if r is not resource)

    preview = client_api.get(f"/api/v1/shares/{grant.id}/preview").json()
    assert preview[resource.scope]
    assert all(preview[r.scope] is None for r in REGISTERED if r is not resource)

    web_login(client, therapist)
    page = client.get(f"/dashboard/clients/{shared_data.id}/")
    assert page.status_code == 200
    used = {t.name for t in page.templates}
    assert resource.template in used
    assert all(r.template not in used for r in REGISTERED if r is not resource)


@pytest.mark.parametrize("resource", REGISTERED, ids=[r.scope for r in REGISTERED])
def test_a_grant_without_the_scope_gets_a_404_and_no_section(
    resource, shared_data, therapist, therapist_api, client_api, client
):
    grant = ShareGrantFactory(client=shared_data, therapist=therapist, **grant_fields(without=resource.scope))
    url = reverse(resource.url_name, kwargs={"client_id": shared_data.id})

    response = therapist_api.get(url)
    assert response.status_code == 404
    assert not AccessLogEntry.objects.filter(grant=grant, resource=resource.log_as).exists()

    digest = therapist_api.get(f"/api/v1/clients/{shared_data.id}/digest/").json()
    assert digest[resource.digest_key] is None
    assert all(digest[r.digest_key] is not None for r in REGISTERED if r is not resource)

    preview = client_api.get(f"/api/v1/shares/{grant.id}/preview").json()
    assert preview[resource.scope] is None

    web_login(client, therapist)
    page = client.get(f"/dashboard/clients/{shared_data.id}/")
    assert page.status_code == 200  # other resources are still shared
    assert resource.template not in {t.name for t in page.templates}
