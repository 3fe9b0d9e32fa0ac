"""URL routes of the API: declared once, with the slash, and served in both slash forms.

Why not a redirect (Django's APPEND_SLASH): an HTTP client that follows a 301 for a POST re-sends it
as a GET, and the write is lost. Why not a middleware that tries the other form: it resolves every
API URL a second time before Django does. The route pattern itself accepts the form without the
trailing slash instead, so one resolve serves both, `reverse()` still gives the slash form and the
schema lists each path once, as declared."""

from django.urls import URLPattern
from django.urls.resolvers import RoutePattern


class OptionalSlashRoutePattern(RoutePattern):
    """A `path()` route ending in "/" that also matches the same path without it."""

    def match(self, path):
        found = super().match(path)
        if found is None and self._is_endpoint and self._route.endswith("/") and not path.endswith("/"):
            found = super().match(path + "/")
        return found


def api_path(route: str, view, kwargs: dict | None = None, name: str | None = None) -> URLPattern:
    """`django.urls.path()` for an API view, served with and without the trailing slash."""
    if not route.endswith("/"):
        raise ValueError(f"API routes end with a slash: {route!r}")
    if isinstance(view, list | tuple):
        raise TypeError("api_path() serves one view; use include() with path() for a group of routes")
    return URLPattern(OptionalSlashRoutePattern(route, name=name, is_endpoint=True), view, kwargs or {}, name)
