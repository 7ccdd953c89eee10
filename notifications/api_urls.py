from django.urls import path

from . import apis

urlpatterns = [
    path("notifications/", apis.NotificationListApi.as_view(), name="api-notifications"),
    path(
        "notifications/mark-read/", apis.NotificationMarkReadApi.as_view(), name="api-notifications-mark-read"
    ),
    path(
        "notifications/preferences/",
        apis.NotificationPreferencesApi.as_view(),
        name="api-notification-preferences",
    ),
]
