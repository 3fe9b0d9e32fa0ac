"""API conventions every endpoint inherits: deny by default, one error shape, pagination."""

import pytest
from rest_framework.test import APIRequestFactory

from tests.factories import UserFactory
from tests.helpers import api_routes, assert_error
from tracker.common.api.pagination import CursorPagination
from tracker.models import User

pytestmark = pytest.mark.django_db

# Public: registration, both login steps (the second carries its own short-lived proof), and the
# emailed clinic invitation (its token is the credential).
PUBLIC_API_ROUTES = {"auth/register/", "auth/login/", "auth/login/mfa/", "clinics/join/"}


def test_every_api_route_denies_anonymous_callers_unless_it_is_auth(anon_api):
    routes = api_routes()
    assert {r for r, _ in routes} >= {"auth/register/", "auth/login/", "me/"}
    for route, view in routes:
        if route in PUBLIC_API_ROUTES:
            continue
        view_class = getattr(view, "cls", None)
        assert view_class is not None, f"{route} is not a DRF view"
        # The default permission (IsAuthenticated) or a stricter one, never AllowAny.
        names = {p.__name__ for p in view_class.permission_classes}
        assert "AllowAny" not in names, route
        url = "/api/v1/" + route.replace("<str:code>", "x").replace(
            "<anyuuid:pk>", "00000000-0000-0000-0000-000000000000"
        )
        if "<" not in url:
            assert_error(anon_api.get(url), 401)


def test_unknown_api_url_is_a_json_404(client_api):
    assert_error(client_api.get("/api/v1/does-not-exist"), 404, "not_found")


def test_wrong_method_is_405_in_the_error_shape(client_api):
    assert_error(client_api.put("/api/v1/me"), 405, "method_not_allowed")


def test_cursor_pagination_bounds_page_size_and_links_to_the_next_page():
    UserFactory.create_batch(5)
    factory = APIRequestFactory()
    paginator = CursorPagination()
    paginator.ordering = ("-date_joined", "-id")

    from rest_framework.request import Request

    from tracker.common.errors import Invalid

    with pytest.raises(Invalid):
        paginator.get_page_size(Request(factory.get("/api/v1/x", {"page_size": 100000})))
    assert paginator.get_page_size(Request(factory.get("/api/v1/x", {"page_size": 200}))) == 200
    assert paginator.get_page_size(Request(factory.get("/api/v1/x", {"page_size": ""}))) == 50

    request = Request(factory.get("/api/v1/x", {"page_size": 2}))
    page = paginator.paginate_queryset(User.objects.all(), request)
    response = paginator.get_paginated_response([u.email for u in page])
    assert set(response.data) == {"results", "next"}
    assert len(response.data["results"]) == 2
    assert response.data["next"] and "cursor=" in response.data["next"]

    seen = list(response.data["results"])
    next_url = response.data["next"]
    while next_url:
        from urllib.parse import parse_qs, urlparse

        query = {k: v[0] for k, v in parse_qs(urlparse(next_url).query).items()}
        request = Request(factory.get("/api/v1/x", query))
        page = paginator.paginate_queryset(User.objects.all(), request)
        response = paginator.get_paginated_response([u.email for u in page])
        seen += response.data["results"]
        next_url = response.data["next"]
    assert sorted(seen) == sorted(User.objects.values_list("email", flat=True))


def test_garbage_cursor_is_a_404_not_a_500():
    from rest_framework.exceptions import NotFound
    from rest_framework.request import Request

    paginator = CursorPagination()
    paginator.ordering = ("-date_joined", "-id")
    request = Request(APIRequestFactory().get("/api/v1/x", {"cursor": "garbage"}))
    with pytest.raises(NotFound):
        paginator.paginate_queryset(User.objects.all(), request)
