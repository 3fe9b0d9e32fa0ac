"""Authentication for the API: knox per-device tokens under either scheme name."""

from knox.auth import TokenAuthentication
from rest_framework import exceptions


class TokenOrBearerAuthentication(TokenAuthentication):
    """Knox per-device tokens, accepted as `Authorization: Token <t>` or `Bearer <t>`.

    Mobile HTTP stacks often only know the OAuth-style `Bearer` scheme, so both are honoured."""

    accepted_prefixes = (b"token", b"bearer")

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "").encode("latin-1", "replace").split()
        if not header or header[0].lower() not in self.accepted_prefixes:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Invalid token header.")
        return self.authenticate_credentials(header[1])
