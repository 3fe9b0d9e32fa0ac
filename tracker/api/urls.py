from django.urls import path

from tracker.api import accounts, checkins, instruments, regulation, sync

urlpatterns = [
    path("auth/register", accounts.RegisterView.as_view(), name="auth-register"),
    path("auth/login", accounts.LoginView.as_view(), name="auth-login"),
    path("auth/logout", accounts.LogoutView.as_view(), name="auth-logout"),
    path("auth/logout-all", accounts.LogoutAllView.as_view(), name="auth-logout-all"),
    path("me", accounts.MeView.as_view(), name="me"),
    path("instruments/", instruments.InstrumentListView.as_view(), name="instrument-list"),
    path("instruments/<str:code>/", instruments.InstrumentDetailView.as_view(), name="instrument-detail"),
    path("checkins/", checkins.CheckInListView.as_view(), name="checkin-list"),
    path("checkins/<uuid:pk>/", checkins.CheckInDetailView.as_view(), name="checkin-detail"),
    path("regulation-logs/", regulation.RegulationLogListView.as_view(), name="regulation-log-list"),
    path("regulation-logs/<uuid:pk>/", regulation.RegulationLogDetailView.as_view(), name="regulation-log-detail"),
    path("vocabularies/", regulation.VocabulariesView.as_view(), name="vocabularies"),
    path("sync/", sync.SyncView.as_view(), name="sync"),
]
