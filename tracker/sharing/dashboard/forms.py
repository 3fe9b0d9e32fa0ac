"""The dashboard's session login: therapists only, under the same lockout as the API login."""

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from tracker.accounts.login_forms import LockoutLoginMixin
from tracker.clinics.selectors import is_clinic_admin
from tracker.sharing.selectors.grants import can_use_therapist_views


class TherapistLoginForm(LockoutLoginMixin, AuthenticationForm):
    username = forms.EmailField(
        label="Email", max_length=254, widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "Email or password is wrong.",
        "not_therapist": (
            "This dashboard is for verified therapists and clinic admins. Your account cannot use it (yet)."
        ),
    }

    def allowed(self, user) -> None:
        if not (can_use_therapist_views(user) or is_clinic_admin(user)):
            raise ValidationError(self.error_messages["not_therapist"], code="not_therapist")
