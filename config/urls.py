from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django_otp.admin import OTPAdminSite
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from tracker.accounts.login_forms import LockoutOTPAdminAuthenticationForm
from tracker.common.api import views
from tracker.common.api.urls import api_path

urlpatterns = [
    path("health/", views.health, name="health"),
    path("metrics", views.metrics, name="metrics"),
    api_path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    api_path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("api/v1/", include("tracker.urls")),
    path("api/v1/", include("notifications.api.urls")),
    path("dashboard/", include("tracker.sharing.dashboard.urls")),
]
if settings.ADMIN_ENABLED:  # off in production unless ADMIN_ENABLED=true
    # Staff sign in to the admin with a second factor too (django-otp's OTPAdminSite: has_permission
    # needs a verified session; the login form asks for the code).
    admin.site.__class__ = OTPAdminSite
    admin.site.login_form = LockoutOTPAdminAuthenticationForm
    admin.site.login_template = OTPAdminSite.login_template
    urlpatterns.append(path("admin/", admin.site.urls))

handler404 = "tracker.common.api.views.not_found"
handler500 = "tracker.common.api.views.server_error"
