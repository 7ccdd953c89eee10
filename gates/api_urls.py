from django.urls import path

from . import api

urlpatterns = [
    path("gates/", api.GateListApi.as_view(), name="gates-api-list"),
    path("gates/<int:pk>/", api.GateDetailApi.as_view(), name="gates-api-detail"),
    path("gates/<int:pk>/evaluations/", api.GateEvaluationsApi.as_view(), name="gates-api-evaluations"),
    path("evaluations/<int:pk>/", api.EvaluationDetailApi.as_view(), name="evaluations-api-detail"),
    path("decisions/", api.DecisionListApi.as_view(), name="decisions-api-list"),
    path("decisions/<int:pk>/", api.DecisionDetailApi.as_view(), name="decisions-api-detail"),
    path("checklist-items/<int:pk>/signoffs/", api.SignoffCreateApi.as_view(), name="signoffs-api-create"),
    path("signoffs/", api.SignoffListApi.as_view(), name="signoffs-api-list"),
    path("signoffs/<int:pk>/revoke/", api.SignoffRevokeApi.as_view(), name="signoffs-api-revoke"),
    path("waivers/", api.WaiverListApi.as_view(), name="waivers-api-list"),
    path("audit-events/", api.AuditEventListApi.as_view(), name="audit-api-list"),
]
