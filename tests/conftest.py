"""Shared fixtures: named personas that every area's tests reuse.

- `client_user`: an app user who tracks; `client_api` is an API client logged in as them.
- `therapist`: the client's (verified) therapist; `therapist_api`.
- `other_therapist`: a verified therapist with no relation to the client; `other_therapist_api`.
- `other_client`: another app user; `other_client_api`.
- `anon_api`: an anonymous caller.
The personas start unrelated; sharing tests create the grant they need (tests/sharing/factories.py
`ShareGrantFactory`, or `invite_create` + `invite_accept` through the real services)."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.factories import TherapistFactory, UserFactory
from tracker.accounts.second_factor import MfaChallenge, login_complete, user_login


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2 at production cost is most of a login and tests log in hundreds of times. The hasher is
    # Django's own; production keeps Django's default (PBKDF2).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Throttle counters and login lockouts live in the cache; each test starts from none.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _fresh_instrument_catalog():
    # The catalogue is cached per process; a rolled-back test transaction must not leave rows in it.
    from tracker.entries.selectors.instruments import instrument_catalog_clear

    instrument_catalog_clear()
    yield
    instrument_catalog_clear()


def api_for(user, device_name: str = "test-device") -> APIClient:
    from tests.factories import DEFAULT_PASSWORD
    from tests.helpers import allow_code_reuse, totp_code

    # The real two-step login (password, then the authenticator's code) for therapists and admins.
    issued = user_login(email=user.email, password=DEFAULT_PASSWORD, device_name=device_name)
    if isinstance(issued, MfaChallenge):
        allow_code_reuse(user)
        issued = login_complete(mfa_token=issued.mfa_token, code=totp_code(user))
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {issued.token}")
    api.token = issued.token
    return api


@pytest.fixture
def anon_api() -> APIClient:
    return APIClient()


@pytest.fixture
def client_user(db):
    return UserFactory(email="casey.client@example.test", display_name="Casey", timezone="Europe/Berlin")


@pytest.fixture
def therapist(db):
    return TherapistFactory(email="theo.therapist@example.test", display_name="Theo")


@pytest.fixture
def other_therapist(db):
    return TherapistFactory(email="una.unrelated@example.test", display_name="Una")


@pytest.fixture
def other_client(db):
    return UserFactory(email="olly.other@example.test", display_name="Olly", timezone="America/Los_Angeles")


@pytest.fixture
def client_api(client_user) -> APIClient:
    return api_for(client_user)


@pytest.fixture
def therapist_api(therapist) -> APIClient:
    return api_for(therapist)


@pytest.fixture
def other_therapist_api(other_therapist) -> APIClient:
    return api_for(other_therapist)


@pytest.fixture
def other_client_api(other_client) -> APIClient:
    return api_for(other_client)
