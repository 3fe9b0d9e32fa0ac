"""The dashboard's session login: therapists only, under the same lockout as the API login."""

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from tracker.accounts import services as accounts
from tracker.sharing.selectors.grants import can_use_therapist_views


class TherapistLoginForm(AuthenticationForm):
    username = forms.EmailField(
        label="Email", max_length=254, widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "Email or password is wrong.",
        "locked": "Too many failed logins. Try again in %(minutes)s minute(s).",
        "not_therapist": "This dashboard is for verified therapists. Your account cannot use it (yet).",
    }

    def clean(self):
        email = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if email and password:
            try:
                user = accounts.credentials_check(email=email, password=password)
            except accounts.LoginLocked as exc:
                minutes = max(1, (exc.retry_after + 59) // 60)
                raise ValidationError(
                    self.error_messages["locked"], code="locked", params={"minutes": minutes}
                ) from None
            except accounts.InvalidCredentials:
                raise self.get_invalid_login_error() from None
            self.confirm_login_allowed(user)
            if not can_use_therapist_views(user):
                raise ValidationError(self.error_messages["not_therapist"], code="not_therapist")
            self.user_cache = user
        return self.cleaned_data
