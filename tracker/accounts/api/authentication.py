"""Authentication for the API: knox per-device tokens under either scheme name.

One SELECT per request: the token's digest (knox's primary key) joined to its user, live tokens only
(`expiry` in the future or none). knox's own `authenticate_credentials` fetches every token sharing
the 8-character prefix and then scans *all* of the user's tokens to delete expired ones on every
request; here expired tokens are simply not found, and `tokens_purge_job` (the scheduler tick)
deletes them in bulk."""

import binascii

from django.utils import timezone
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from knox.models import get_token_model
from knox.settings import knox_settings
from rest_framework import exceptions

BAD_TOKEN_MESSAGE = "Invalid token."  # noqa: S105 - a message, not a secret


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

    def authenticate_credentials(self, token):
        try:
            digest = hash_token(token.decode("utf-8"))
        except (TypeError, UnicodeDecodeError, binascii.Error, ValueError):
            raise exceptions.AuthenticationFailed(BAD_TOKEN_MESSAGE) from None
        now = timezone.now()
        auth_token = (
            get_token_model()
            .objects.select_related("user")
            .filter(digest=digest)
            .exclude(expiry__lte=now)  # NULL expiry (no TTL) stays valid
            .first()
        )
        if auth_token is None:
            raise exceptions.AuthenticationFailed(BAD_TOKEN_MESSAGE)
        if knox_settings.AUTO_REFRESH and auth_token.expiry:
            self.renew_token(auth_token)
        return self.validate_user(auth_token)
