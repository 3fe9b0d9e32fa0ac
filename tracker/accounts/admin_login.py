"""The Django admin's login under the same lockout as the API and dashboard logins.

Off in production unless ADMIN_ENABLED (config/urls.py); when on, `admin.site.login_form` is this
form, so the admin cannot be used to guess passwords around the lockout."""

from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError

from tracker.accounts import services as accounts


class LockoutAdminAuthenticationForm(AdminAuthenticationForm):
    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "locked": "Too many failed logins. Try again in %(minutes)s minute(s).",
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
            self.confirm_login_allowed(user)  # staff only
            self.user_cache = user
        return self.cleaned_data
