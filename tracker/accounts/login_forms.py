"""Session logins (the admin's and the dashboard's) under the same lockout as the API login.

Off in production unless ADMIN_ENABLED (config/urls.py); when on, `admin.site.login_form` is this
form, so the admin cannot be used to guess passwords around the lockout."""

from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django_otp.admin import OTPAdminAuthenticationForm

from tracker.accounts import second_factor
from tracker.accounts import services as accounts


class LockoutLoginMixin:
    """`clean()` of a Django login form, through the API's credentials check and its lockout.

    Shared by the admin's and the dashboard's session logins, so neither can be used to guess
    passwords around the lockout. `allowed(user)` adds a form's own rule after the password."""

    LOCKED_MESSAGE = "Too many failed logins. Try again in %(minutes)s minute(s)."

    def allowed(self, user) -> None:
        """Raise ValidationError when this form's users may not sign in (default: anyone active)."""

    def clean(self):
        email = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if email and password:
            try:
                user = accounts.credentials_check(email=email, password=password)
            except accounts.LoginLocked as exc:
                minutes = max(1, (exc.retry_after + 59) // 60)
                raise ValidationError(self.LOCKED_MESSAGE, code="locked", params={"minutes": minutes}) from None
            except accounts.InvalidCredentials:
                raise self.get_invalid_login_error() from None
            self.confirm_login_allowed(user)
            self.allowed(user)
            self.user_cache = user
        return self.cleaned_data


class LockoutAdminAuthenticationForm(LockoutLoginMixin, AdminAuthenticationForm):
    """The admin's login (confirm_login_allowed: staff only)."""


class LockoutOTPAdminAuthenticationForm(LockoutLoginMixin, OTPAdminAuthenticationForm):
    """The admin's login on django-otp's OTPAdminSite: password under the lockout, then a code from
    any of the user's devices (TOTP or a recovery code) under the second step's lockout."""

    def clean(self):
        super().clean()  # LockoutLoginMixin: the password step
        if self.user_cache is not None:
            self.clean_otp(self.user_cache)
        return self.cleaned_data

    def _verify_token(self, user, token, device=None):
        try:
            return second_factor.second_factor_check(user=user, code=token or "")
        except second_factor.SecondFactorLocked as exc:
            minutes = max(1, (exc.retry_after + 59) // 60)
            raise ValidationError(self.LOCKED_MESSAGE, code="locked", params={"minutes": minutes}) from None
        except second_factor.InvalidCode:
            raise ValidationError(self.otp_error_messages["invalid_token"], code="invalid_token") from None
