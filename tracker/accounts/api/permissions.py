"""The API's second-factor gate (in DEFAULT_PERMISSION_CLASSES, so no route can forget it)."""

from rest_framework.permissions import BasePermission

from tracker.accounts.second_factor import has_second_factor
from tracker.common.errors import Forbidden


class SecondFactorEnrolled(BasePermission):
    """Therapists, clinic admins and staff get 403 `mfa_required` until they enrol a second factor.

    Clients pass without a query. A view sets `second_factor_exempt = True` only when it is needed to
    get enrolled (login, logout, me, the enrolment routes). Whether a token passed the second step
    needs no check here: an enrolled user's tokens come only from the two-step login (or from
    confirming enrolment, which revokes every other token) — see tracker.accounts.second_factor."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not getattr(user, "is_authenticated", False) or getattr(view, "second_factor_exempt", False):
            return True
        if user.needs_second_factor and not has_second_factor(user):
            raise Forbidden("Enrol a second factor (auth/mfa/totp/) to use this route.", code="mfa_required")
        return True
