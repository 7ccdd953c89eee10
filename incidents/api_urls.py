from django.urls import path

from . import apis

urlpatterns = [
    path("incidents/", apis.IncidentListApi.as_view(), name="api-incidents"),
    path("incidents/<int:pk>/", apis.IncidentDetailApi.as_view(), name="api-incident"),
    path("incidents/<int:pk>/restore/", apis.IncidentRestoreApi.as_view(), name="api-incident-restore"),
    path("incidents/<int:pk>/postmortem/", apis.PostMortemApi.as_view(), name="api-incident-postmortem"),
    path(
        "incidents/<int:pk>/action-items/", apis.ActionItemListApi.as_view(), name="api-incident-action-items"
    ),
    path("action-items/<int:pk>/", apis.ActionItemDetailApi.as_view(), name="api-action-item"),
]
