from django.urls import path

from tracker.api import accounts

urlpatterns = [
    path("auth/register", accounts.RegisterView.as_view(), name="auth-register"),
    path("auth/login", accounts.LoginView.as_view(), name="auth-login"),
    path("auth/logout", accounts.LogoutView.as_view(), name="auth-logout"),
    path("auth/logout-all", accounts.LogoutAllView.as_view(), name="auth-logout-all"),
    path("me", accounts.MeView.as_view(), name="me"),
]
