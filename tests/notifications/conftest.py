import pytest

from tests.notifications.fake_fcm import FakeFcm


@pytest.fixture
def fake_fcm():
    server = FakeFcm().start()
    yield server
    server.stop()


@pytest.fixture
def fcm_settings(fake_fcm, settings):
    """Point the FCM transport at the fake server (service-account credentials included)."""
    for name, value in fake_fcm.settings_env(timeout=0.5).items():
        setattr(settings, name, float(value) if name == "FCM_TIMEOUT_SECONDS" else value)
    return fake_fcm
