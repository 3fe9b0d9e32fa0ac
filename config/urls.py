from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from tracker.common.api import views

urlpatterns = [
    path("health/", views.health, name="health"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("api/v1/", include("tracker.urls")),
    path("api/v1/", include("notifications.api.urls")),
    path("dashboard/", include("tracker.sharing.dashboard.urls")),
    path("admin/", admin.site.urls),
]

handler404 = "tracker.common.api.views.not_found"
handler500 = "tracker.common.api.views.server_error"
