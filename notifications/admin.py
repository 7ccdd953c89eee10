from django.contrib import admin

from .models import Notification, NotificationEvent, NotificationPreference


@admin.register(NotificationEvent)
class NotificationEventAdmin(admin.ModelAdmin):
    list_display = ("created", "kind", "project", "title", "dispatched_at")
    list_filter = ("kind", "project")
    raw_id_fields = ("actor",)


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("created", "user", "kind", "project", "title", "read_at")
    list_filter = ("kind", "project")
    raw_id_fields = ("user", "event")


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ("user", "kind", "in_app", "email")
    raw_id_fields = ("user",)
