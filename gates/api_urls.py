from django.urls import path

from . import apis, apis_verdicts

urlpatterns = [
    path("gates/", apis.GateListApi.as_view(), name="gates-api-list"),
    path("gates/<int:pk>/", apis.GateDetailApi.as_view(), name="gates-api-detail"),
    path("gates/<int:pk>/evaluations/", apis.GateEvaluationsApi.as_view(), name="gates-api-evaluations"),
    path("evaluations/<int:pk>/", apis.EvaluationDetailApi.as_view(), name="evaluations-api-detail"),
    path("decisions/", apis.DecisionListApi.as_view(), name="decisions-api-list"),
    path("decisions/<int:pk>/", apis.DecisionDetailApi.as_view(), name="decisions-api-detail"),
    path("checklist-items/<int:pk>/signoffs/", apis.SignoffCreateApi.as_view(), name="signoffs-api-create"),
    path("signoffs/", apis.SignoffListApi.as_view(), name="signoffs-api-list"),
    path("signoffs/<int:pk>/revoke/", apis.SignoffRevokeApi.as_view(), name="signoffs-api-revoke"),
    path("waivers/", apis.WaiverListApi.as_view(), name="waivers-api-list"),
    path("audit-events/", apis.AuditEventListApi.as_view(), name="audit-api-list"),
    path(
        "releases/<int:pk>/gates/<int:gate_id>/verdict/",
        apis_verdicts.GateVerdictApi.as_view(),
        name="gate-verdict-api",
    ),
    path("releases/<int:pk>/verdict/", apis_verdicts.ReleaseVerdictApi.as_view(), name="release-verdict-api"),
]
