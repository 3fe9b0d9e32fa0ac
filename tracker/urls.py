import tracker.common.api.converters  # noqa: F401 - registers the anyuuid path converter
from tracker.accounts.api import views as accounts
from tracker.alerts.api import views as alerts
from tracker.clinics.api import views as clinics
from tracker.common.api.urls import api_path as path  # both slash forms, one resolve
from tracker.data_rights.api import views as export
from tracker.entries.api import checkins, instruments, regulation, sync
from tracker.insights.api import views as trends
from tracker.reports.api import views as reports
from tracker.sharing.api import clients, shares
from tracker.sharing.resources import RESOURCES

urlpatterns = [
    path("auth/register/", accounts.RegisterView.as_view(), name="auth-register"),
    path("auth/login/", accounts.LoginView.as_view(), name="auth-login"),
    path("auth/login/mfa/", accounts.MfaLoginView.as_view(), name="auth-login-mfa"),
    path("auth/mfa/", accounts.MfaStatusView.as_view(), name="auth-mfa"),
    path("auth/mfa/totp/", accounts.TotpEnrolView.as_view(), name="auth-mfa-totp"),
    path("auth/mfa/totp/confirm/", accounts.TotpConfirmView.as_view(), name="auth-mfa-totp-confirm"),
    path("auth/logout/", accounts.LogoutView.as_view(), name="auth-logout"),
    path("auth/logout-all/", accounts.LogoutAllView.as_view(), name="auth-logout-all"),
    path("me/", accounts.MeView.as_view(), name="me"),
    path("me/export/", export.MeExportView.as_view(), name="me-export"),
    path("instruments/", instruments.InstrumentListView.as_view(), name="instrument-list"),
    path("instruments/<str:code>/", instruments.InstrumentDetailView.as_view(), name="instrument-detail"),
    path("checkins/", checkins.CheckInListView.as_view(), name="checkin-list"),
    path("checkins/<anyuuid:pk>/", checkins.CheckInDetailView.as_view(), name="checkin-detail"),
    path("regulation-logs/", regulation.RegulationLogListView.as_view(), name="regulation-log-list"),
    path("regulation-logs/<anyuuid:pk>/", regulation.RegulationLogDetailView.as_view(), name="regulation-log-detail"),
    path("vocabularies/", regulation.VocabulariesView.as_view(), name="vocabularies"),
    path("crisis-resources/", regulation.CrisisResourcesView.as_view(), name="crisis-resources"),
    path("sync/", sync.SyncView.as_view(), name="sync"),
    path("trends/", trends.TrendsView.as_view(), name="trends"),
    path("summaries/", trends.SummaryListView.as_view(), name="summary-list"),
    path("summaries/<str:week>/", trends.SummaryDetailView.as_view(), name="summary-detail"),
    # Sharing: the client's side (and the therapist's accept).
    path("shares/", shares.GrantListView.as_view(), name="shares"),
    path("shares/invites/", shares.InviteCreateView.as_view(), name="share-invites"),
    path("shares/invites/<anyuuid:pk>/", shares.InviteDetailView.as_view(), name="share-invite-detail"),
    path("shares/accept/", shares.AcceptView.as_view(), name="share-accept"),
    path("shares/<anyuuid:pk>/", shares.GrantDetailView.as_view(), name="share-detail"),
    path("shares/<anyuuid:pk>/access-log/", shares.AccessLogView.as_view(), name="share-access-log"),
    path("shares/<anyuuid:pk>/preview/", shares.PreviewView.as_view(), name="share-preview"),
    path("shares/<anyuuid:pk>/alert-rules/", alerts.AlertRuleListView.as_view(), name="share-alert-rules"),
    path(
        "shares/<anyuuid:pk>/alert-rules/<str:kind>/",
        alerts.AlertRuleDetailView.as_view(),
        name="share-alert-rule-detail",
    ),
    # The therapist's alerts.
    path("alerts/", alerts.AlertListView.as_view(), name="alerts"),
    path("alerts/<anyuuid:pk>/acknowledge/", alerts.AlertAcknowledgeView.as_view(), name="alert-acknowledge"),
    # Clinics: the clinic admin's side, and a therapist's joining link.
    path("clinics/", clinics.ClinicListView.as_view(), name="clinics"),
    path("clinics/join/", clinics.InvitationAcceptView.as_view(), name="clinic-join"),
    path("clinics/<anyuuid:clinic_id>/", clinics.ClinicDetailView.as_view(), name="clinic-detail"),
    path("clinics/<anyuuid:clinic_id>/members/", clinics.MemberListView.as_view(), name="clinic-members"),
    path(
        "clinics/<anyuuid:clinic_id>/members/<anyuuid:member_id>/",
        clinics.MemberDetailView.as_view(),
        name="clinic-member",
    ),
    path(
        "clinics/<anyuuid:clinic_id>/members/<anyuuid:member_id>/licence/",
        clinics.LicenceView.as_view(),
        name="clinic-member-licence",
    ),
    path(
        "clinics/<anyuuid:clinic_id>/members/<anyuuid:member_id>/licence/verify/",
        clinics.LicenceVerifyView.as_view(),
        name="clinic-member-licence-verify",
    ),
    path(
        "clinics/<anyuuid:clinic_id>/members/<anyuuid:member_id>/suspend/",
        clinics.SuspendView.as_view(),
        name="clinic-member-suspend",
    ),
    path(
        "clinics/<anyuuid:clinic_id>/members/<anyuuid:member_id>/reinstate/",
        clinics.ReinstateView.as_view(),
        name="clinic-member-reinstate",
    ),
    path("clinics/<anyuuid:clinic_id>/outcomes/", clinics.OutcomesView.as_view(), name="clinic-outcomes"),
    path("clinics/<anyuuid:clinic_id>/invitations/", clinics.InvitationListView.as_view(), name="clinic-invitations"),
    path(
        "clinics/<anyuuid:clinic_id>/invitations/<anyuuid:invitation_id>/",
        clinics.InvitationDetailView.as_view(),
        name="clinic-invitation",
    ),
    # The therapist's view of clients who share.
    path("clients/", clients.ClientListView.as_view(), name="clients"),
    path("clients/<anyuuid:client_id>/", clients.ClientDetailView.as_view(), name="client-detail"),
    # One list route per shared resource (tracker.sharing.resources.RESOURCES).
    *(
        path(
            f"clients/<anyuuid:client_id>/{resource.route}/",
            clients.RESOURCE_VIEWS[scope].as_view(),
            name=resource.url_name,
        )
        for scope, resource in RESOURCES.items()
    ),
    path("clients/<anyuuid:client_id>/trends/", clients.ClientTrendsView.as_view(), name="client-trends"),
    path("clients/<anyuuid:client_id>/digest/", clients.ClientDigestView.as_view(), name="client-digest"),
    path("clients/<anyuuid:client_id>/export/", export.ClientExportView.as_view(), name="client-export"),
    path("clients/<anyuuid:client_id>/sessions/", clients.ClientSessionsView.as_view(), name="client-sessions"),
    path("clients/<anyuuid:client_id>/report/", reports.ClientReportView.as_view(), name="client-report"),
]
