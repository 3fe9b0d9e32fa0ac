import tracker.common.api.converters  # noqa: F401 - registers the anyuuid path converter
from notifications.api import views
from tracker.common.api.urls import api_path as path  # both slash forms, one resolve

urlpatterns = [
    path("reminders/", views.RemindersView.as_view(), name="reminders"),
    path("devices/", views.DevicesView.as_view(), name="devices"),
    path("devices/<anyuuid:pk>/", views.DeviceDetailView.as_view(), name="device-detail"),
    path("prompts/", views.PromptsView.as_view(), name="prompts"),
    path("inbox/", views.InboxView.as_view(), name="inbox"),
    path("inbox/read-all/", views.InboxReadAllView.as_view(), name="inbox-read-all"),
    path("inbox/<anyuuid:pk>/read/", views.InboxReadView.as_view(), name="inbox-read"),
    path("inbox/<anyuuid:pk>/opened/", views.InboxOpenedView.as_view(), name="inbox-opened"),
]
