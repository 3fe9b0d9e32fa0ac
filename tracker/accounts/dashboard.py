"""The dashboard's second factor: the code step after the password, enrolment with a QR code, and
the gate every dashboard page sits behind (`second_factor_required`).

A session counts as signed in with a second factor when django-otp's `otp_device_id` is in it
(`request.user.is_verified()`, set by django_otp.login after a code was accepted here)."""

from __future__ import annotations

from functools import wraps

from django import forms
from django.conf import settings
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django_otp import login as otp_login

from tracker.accounts import second_factor
from tracker.common.errors import Conflict
from tracker.models import User

PENDING_KEY = "mfa_pending"


def second_factor_required(view):
    """Therapists, clinic admins and staff: no second factor yet → the enrolment page; a session
    that did not pass the code step (e.g. signed in before enrolling) → logged out, to the login."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        user = request.user
        if user.is_authenticated and user.needs_second_factor:
            if not second_factor.has_second_factor(user):
                return redirect("dashboard:mfa-setup")
            if not user.is_verified():
                auth_logout(request)
                return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapped


class TwoStepLoginView(auth_views.LoginView):
    """The password step; an enrolled user goes on to the code step instead of being signed in."""

    def form_valid(self, form):
        user = form.get_user()
        if user.needs_second_factor and second_factor.has_second_factor(user):
            self.request.session[PENDING_KEY] = {
                "user": str(user.pk),
                "hash": user.get_session_auth_hash(),
                "at": timezone.now().timestamp(),
                "next": self.get_redirect_url(),
            }
            return redirect("dashboard:login-mfa")
        return super().form_valid(form)


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=32,
        help_text="The 6-digit code from your authenticator app, or one of your recovery codes.",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True, "spellcheck": "false"}
        ),
    )


def _pending_user(request) -> User | None:
    pending = request.session.get(PENDING_KEY) or {}
    if timezone.now().timestamp() - pending.get("at", 0) > settings.MFA_LOGIN_TTL_SECONDS:
        return None
    user = User.objects.filter(pk=pending.get("user"), is_active=True).first()
    if user is None or user.get_session_auth_hash() != pending.get("hash"):
        return None
    return user


@never_cache
@sensitive_post_parameters("code")
def login_code(request):
    user = _pending_user(request)
    if user is None:
        request.session.pop(PENDING_KEY, None)
        return redirect("dashboard:login")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = second_factor.second_factor_check(user=user, code=form.cleaned_data["code"])
        except second_factor.SecondFactorLocked as exc:
            minutes = max(1, (exc.retry_after + 59) // 60)
            form.add_error(None, f"Too many wrong codes. Try again in {minutes} minute(s).")
        except second_factor.InvalidCode:
            form.add_error("code", "This code is wrong or was already used.")
        else:
            target = request.session[PENDING_KEY].get("next") or ""
            auth_login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            otp_login(request, device)
            if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
                target = settings.LOGIN_REDIRECT_URL
            return redirect(target or settings.LOGIN_REDIRECT_URL)
    return render(request, "dashboard/login_code.html", {"form": form})


@never_cache
@login_required
@sensitive_post_parameters("code")
def mfa_setup(request):
    """Enrol an authenticator app: scan the QR code (or type the key), confirm with a code, and see
    the ten recovery codes once."""
    user = request.user
    if not user.needs_second_factor:
        return render(request, "dashboard/forbidden.html", status=403)
    if second_factor.has_second_factor(user):
        return redirect("dashboard:clients")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device, codes = second_factor.totp_enrolment_confirm(user=user, code=form.cleaned_data["code"])
        except second_factor.SecondFactorLocked as exc:
            minutes = max(1, (exc.retry_after + 59) // 60)
            form.add_error(None, f"Too many wrong codes. Try again in {minutes} minute(s).")
        except second_factor.InvalidCode:
            form.add_error("code", "This code is wrong. Check the time on your phone and try the next one.")
        except Conflict:
            return redirect("dashboard:mfa-setup")
        else:
            otp_login(request, device)
            return render(request, "dashboard/mfa_codes.html", {"codes": codes})
    enrolment = second_factor.totp_enrolment_pending(user=user) or second_factor.totp_enrolment_start(user=user)
    return render(request, "dashboard/mfa_setup.html", {"form": form, "enrolment": enrolment})
