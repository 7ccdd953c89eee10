from django.urls import path

from . import views

urlpatterns = [
    path("incidents/", views.incident_list, name="incident_list"),
    path("incidents/new/", views.incident_create, name="incident_create"),
    path("incidents/<int:pk>/", views.incident_detail, name="incident_detail"),
    path("incidents/<int:pk>/edit/", views.incident_edit, name="incident_edit"),
    path("incidents/<int:pk>/restore/", views.incident_restore, name="incident_restore"),
    path("incidents/<int:pk>/postmortem/", views.postmortem_save, name="postmortem_save"),
    path("incidents/<int:pk>/actions/", views.action_item_create, name="action_item_create"),
    path("incidents/<int:pk>/actions/<int:item_pk>/", views.action_item_status, name="action_item_status"),
]
