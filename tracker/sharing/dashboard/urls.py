from django.contrib.auth import views as auth_views
from django.urls import path

from tracker.accounts import dashboard as second_factor
from tracker.alerts.dashboard import views as alerts
from tracker.clinics import dashboard as clinics
from tracker.sharing.dashboard import views
from tracker.sharing.dashboard.forms import TherapistLoginForm

app_name = "dashboard"

urlpatterns = [
    path(
        "login/",
        second_factor.TwoStepLoginView.as_view(
            template_name="dashboard/login.html",
            authentication_form=TherapistLoginForm,
            redirect_authenticated_user=True,
        ),
        name="login",
    ),
    path("login/code/", second_factor.login_code, name="login-mfa"),
    path("two-factor/", second_factor.mfa_setup, name="mfa-setup"),
    path("clinics/", clinics.clinic_list, name="clinics"),
    path("clinics/join/<str:token>/", clinics.join, name="clinic-join"),
    path("clinics/<uuid:clinic_id>/", clinics.clinic_detail, name="clinic"),
    path("clinics/<uuid:clinic_id>/outcomes/", clinics.outcomes, name="clinic-outcomes"),
    path("clinics/<uuid:clinic_id>/members/<uuid:member_id>/", clinics.member_detail, name="clinic-member"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.client_list, name="clients"),
    path("clients/<uuid:client_id>/", views.client_detail, name="client"),
    path(
        "clients/<uuid:client_id>/summaries/<int:iso_year>-W<int:iso_week>/",
        views.summary_detail,
        name="summary",
    ),
    path("clients/<uuid:client_id>/sessions/", views.session_create, name="session-create"),
    path("clients/<uuid:client_id>/report/", views.client_report_pdf, name="client-report"),
    path("alerts/", alerts.alert_list, name="alerts"),
    path("alerts/<uuid:alert_id>/acknowledge/", alerts.alert_acknowledge, name="alert-acknowledge"),
]
