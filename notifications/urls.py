from django.urls import path

from . import views

urlpatterns = [
    path("notifications/", views.notification_list, name="list"),
    path("notifications/read/", views.notifications_mark_read, name="mark_read"),
    path("notifications/preferences/", views.notification_preferences, name="preferences"),
    path("notifications/<int:pk>/open/", views.notification_open, name="open"),
]
