from django.urls import include, path

from . import apis

notifications = [
    path("", apis.NotificationListApi.as_view(), name="api-notifications"),
    path("mark-read/", apis.NotificationMarkReadApi.as_view(), name="api-notifications-mark-read"),
    path("preferences/", apis.NotificationPreferencesApi.as_view(), name="api-notification-preferences"),
]

urlpatterns = [path("notifications/", include(notifications))]
