from django.urls import path

from qualitygov.routes import object_pages

from . import views

urlpatterns = [
    *object_pages(
        "incidents",
        "incident",
        listing=views.incident_list,
        create=views.incident_create,
        detail=views.incident_detail,
        edit=views.incident_edit,
    ),
    path("incidents/<int:pk>/restore/", views.incident_restore, name="incident_restore"),
    path("incidents/<int:pk>/postmortem/", views.postmortem_save, name="postmortem_save"),
    path("incidents/<int:pk>/actions/", views.action_item_create, name="action_item_create"),
    path("incidents/<int:pk>/actions/<int:item_pk>/", views.action_item_status, name="action_item_status"),
]
