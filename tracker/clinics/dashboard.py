"""The clinic admin's dashboard pages (server-rendered, CSRF-protected like the rest) and the page
an invited therapist opens from the email. Same services and selectors as tracker.clinics.api; a
clinic you do not administer is the same 404 page as one that does not exist."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from tracker.accounts.dashboard import second_factor_required
from tracker.clinics import selectors, services
from tracker.common.errors import ApplicationError, NotFound


class InviteForm(forms.Form):
    email = forms.EmailField(label="Therapist's email", max_length=254)


class LicenceForm(forms.Form):
    number = forms.CharField(label="Licence number", max_length=64)
    jurisdiction = forms.CharField(label="Jurisdiction", max_length=64)
    expires_on = forms.DateField(label="Valid until", widget=forms.DateInput(attrs={"type": "date"}))


class JoinForm(forms.Form):
    display_name = forms.CharField(label="Your name", max_length=80, required=False)
    password = forms.CharField(
        label="Password",
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


def _not_found(request):
    return render(request, "dashboard/not_found.html", status=404)


def clinic_admin_page(view):
    return never_cache(login_required(second_factor_required(view)))


@clinic_admin_page
@require_http_methods(["GET"])
def clinic_list(request):
    clinics = list(selectors.clinics_for_admin(user=request.user).order_by("name"))
    if not clinics:
        return render(request, "dashboard/forbidden.html", status=403)
    return render(request, "dashboard/clinics/list.html", {"clinics": clinics})


@clinic_admin_page
@require_http_methods(["GET", "POST"])
def clinic_detail(request, clinic_id):
    try:
        clinic = selectors.clinic_for_admin(user=request.user, clinic_id=clinic_id)
    except NotFound:
        return _not_found(request)
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.invitation_create(clinic=clinic, by=request.user, email=form.cleaned_data["email"])
        except ApplicationError as exc:
            form.add_error("email", exc.message)
        else:
            messages.success(request, "Invitation sent. The link works once and expires.")
            return redirect("dashboard:clinic", clinic_id=clinic.id)
    now = timezone.now()
    members = [
        {
            "m": m,
            "verified": m.verified(now),
            "expired": m.licence_expires_on is not None and not m.licence_current(now),
        }
        for m in selectors.members(clinic=clinic).order_by("role", "user__email")
    ]
    invitations = selectors.invitations(clinic=clinic).filter(used_at__isnull=True).order_by("-created_at")[:50]
    context = {"clinic": clinic, "members": members, "invitations": invitations, "form": form, "now": now}
    return render(request, "dashboard/clinics/detail.html", context, status=400 if form.errors else 200)


@clinic_admin_page
@require_http_methods(["GET", "POST"])
def member_detail(request, clinic_id, member_id):
    try:
        clinic = selectors.clinic_for_admin(user=request.user, clinic_id=clinic_id)
        membership = selectors.member(clinic=clinic, member_id=member_id)
    except NotFound:
        return _not_found(request)
    initial = {
        "number": membership.licence_number,
        "jurisdiction": membership.licence_jurisdiction,
        "expires_on": membership.licence_expires_on,
    }
    action = request.POST.get("action") if request.method == "POST" else None
    form = LicenceForm(request.POST if action == "licence" else None, initial=initial)
    error = None
    if action:
        try:
            if action == "licence":
                if form.is_valid():
                    services.licence_record(membership=membership, **form.cleaned_data)
                    messages.success(request, "Licence saved. Verify it once you have checked it.")
            elif action == "verify":
                services.licence_verify(membership=membership, by=request.user)
                messages.success(request, "Licence verified.")
            elif action == "suspend":
                services.member_suspend(membership=membership, by=request.user)
                messages.success(request, "Therapist suspended. Their access ended now.")
            elif action == "reinstate":
                services.member_reinstate(membership=membership)
                messages.success(request, "Suspension lifted.")
            else:
                error = "Unknown action."
        except ApplicationError as exc:
            error = exc.message
        if error is None and not form.errors:
            return redirect("dashboard:clinic-member", clinic_id=clinic.id, member_id=membership.id)
    now = timezone.now()
    context = {
        "clinic": clinic,
        "m": membership,
        "form": form,
        "error": error,
        "verified": membership.verified(now),
        "expired": membership.licence_expires_on is not None and not membership.licence_current(now),
    }
    return render(request, "dashboard/clinics/member.html", context, status=400 if (error or form.errors) else 200)


@never_cache
@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
def join(request, token):
    """The emailed link: join with the invited email's therapist account (its password) or create it."""
    try:
        invitation = services.invitation_pending(token=token)
    except NotFound:
        return render(request, "dashboard/clinics/join_invalid.html", status=404)
    form = JoinForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.invitation_accept(token=token, **form.cleaned_data)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
            for field, errors in (exc.fields or {}).items():
                for message in errors:
                    form.add_error("password" if field == "password" else None, message)
        else:
            messages.success(request, f"You joined {invitation.clinic.name}. Log in to set up two-factor sign-in.")
            return redirect("dashboard:login")
    context = {"invitation": invitation, "form": form}
    return render(request, "dashboard/clinics/join.html", context, status=400 if form.errors else 200)


class OutcomesForm(forms.Form):
    start = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))


@clinic_admin_page
@require_http_methods(["GET"])
def outcomes(request, clinic_id):
    """The clinic's outcomes: the same selector as `GET /api/v1/clinics/{id}/outcomes/`."""
    try:
        clinic = selectors.clinic_for_admin(user=request.user, clinic_id=clinic_id)
    except NotFound:
        return _not_found(request)
    form = OutcomesForm(request.GET or None)
    result = None
    if not form.is_bound or form.is_valid():
        data = form.cleaned_data if form.is_bound else {}
        try:
            start, end = selectors.outcome_period(
                start=data.get("start"), end=data.get("end"), today=timezone.now().date()
            )
        except ApplicationError as exc:
            for field, errors in (exc.fields or {}).items():
                for message in errors:
                    form.add_error("start" if field == "from" else "end", message)
        else:
            result = selectors.clinic_outcomes(clinic=clinic, start=start, end=end)
    context = {"clinic": clinic, "form": form, "result": result}
    return render(request, "dashboard/clinics/outcomes.html", context, status=400 if form.errors else 200)
