"""Model fields with storage rules of their own."""

from __future__ import annotations

from django.db import models

from tracker.common import crypto


class EncryptedTextField(models.TextField):
    """Text stored as a Fernet token; Python code only ever sees the plaintext.

    The empty string is stored as is (an absent note carries no content). The column cannot be
    searched or compared in SQL: equality checks happen in Python after decryption."""

    description = "Text encrypted at rest (Fernet, key rotation)"

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return crypto.decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return crypto.encrypt(value)
