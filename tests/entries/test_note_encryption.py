"""Notes are encrypted at rest (Fernet) with key rotation: old keys decrypt, new writes use the newest."""

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from tests.entries.entry_factories import checkin_body, make_checkin
from tests.entries.test_regulation_api import log_body
from tracker.models import CheckIn, RegulationLog

pytestmark = pytest.mark.django_db

SECRET = "I keep thinking they will leave me"
KEY_OLD = Fernet.generate_key().decode()
KEY_NEW = Fernet.generate_key().decode()


def raw_note(model, pk) -> str:
    table = connection.ops.quote_name(model._meta.db_table)
    pk_db = model._meta.pk.get_db_prep_value(pk, connection)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT note FROM {table} WHERE id = %s", [pk_db])
        return cursor.fetchone()[0]


def test_raw_columns_hold_no_plaintext(client_api):
    checkin = client_api.post("/api/v1/checkins/", checkin_body(note=SECRET), format="json").json()
    log = client_api.post("/api/v1/regulation-logs/", log_body(note=SECRET), format="json").json()
    for model, pk in ((CheckIn, checkin["id"]), (RegulationLog, log["id"])):
        stored = raw_note(model, pk)
        assert SECRET not in stored and "leave" not in stored
        assert stored.startswith("gAAAAA")  # a Fernet token
        assert model.objects.get(id=pk).note == SECRET
    assert client_api.get(f"/api/v1/checkins/{checkin['id']}/").json()["note"] == SECRET
    # Empty notes stay empty (nothing to hide), and the same note encrypts differently each time.
    other = client_api.post("/api/v1/checkins/", checkin_body(note=SECRET), format="json").json()
    assert raw_note(CheckIn, other["id"]) != raw_note(CheckIn, checkin["id"])


def test_rotation_old_keys_decrypt_new_writes_use_the_newest(client_user):
    with override_settings(FIELD_ENCRYPTION_KEYS=[KEY_OLD]):
        old = make_checkin(client_user, note="written under the old key")
    with override_settings(FIELD_ENCRYPTION_KEYS=[KEY_NEW, KEY_OLD]):
        assert CheckIn.objects.get(id=old.id).note == "written under the old key"
        new = make_checkin(client_user, note="written under the new key")
        Fernet(KEY_NEW.encode()).decrypt(raw_note(CheckIn, new.id).encode())  # the newest key alone opens it
        with pytest.raises(InvalidToken):
            Fernet(KEY_NEW.encode()).decrypt(raw_note(CheckIn, old.id).encode())

        call_command("rotate_note_keys", stdout=open("/dev/null", "w"))

    # After rotation the old key can go: everything opens with the new one alone.
    with override_settings(FIELD_ENCRYPTION_KEYS=[KEY_NEW]):
        assert CheckIn.objects.get(id=old.id).note == "written under the old key"
        assert CheckIn.objects.get(id=new.id).note == "written under the new key"


def test_dropping_a_key_before_rotating_fails_loudly(client_user):
    with override_settings(FIELD_ENCRYPTION_KEYS=[KEY_OLD]):
        checkin = make_checkin(client_user, note="needs the old key")
    with override_settings(FIELD_ENCRYPTION_KEYS=[KEY_NEW]), pytest.raises(InvalidToken):
        CheckIn.objects.get(id=checkin.id)
