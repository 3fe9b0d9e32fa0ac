from django.urls import path

from tracker.api import accounts, trends

urlpatterns = [
    path("auth/register", accounts.RegisterView.as_view(), name="auth-register"),
    path("auth/login", accounts.LoginView.as_view(), name="auth-login"),
    path("auth/logout", accounts.LogoutView.as_view(), name="auth-logout"),
    path("auth/logout-all", accounts.LogoutAllView.as_view(), name="auth-logout-all"),
    path("me", accounts.MeView.as_view(), name="me"),
    path("trends/", trends.TrendsView.as_view(), name="trends"),
    path("summaries/", trends.SummaryListView.as_view(), name="summary-list"),
    path("summaries/<str:week>/", trends.SummaryDetailView.as_view(), name="summary-detail"),
]
