from django.urls import path

from . import apis, policy_apis, risk_apis

KEY = "<str:key>"

urlpatterns = [
    path("releases/<int:pk>/metrics/", apis.ReleaseMetricsApi.as_view(), name="api-release-metrics"),
    path(
        "releases/<int:pk>/metrics/recompute/",
        apis.ReleaseRecomputeApi.as_view(),
        name="api-release-recompute",
    ),
    path(
        "releases/<int:pk>/metrics/<str:key>/series/",
        apis.ReleaseMetricSeriesApi.as_view(),
        name="api-release-metric-series",
    ),
    path(
        "releases/<int:pk>/metrics/<str:key>/items/",
        apis.ReleaseMetricItemsApi.as_view(),
        name="api-release-metric-items",
    ),
    path(
        f"projects/{KEY}/metrics/<str:metric>/items/",
        apis.ProjectMetricItemsApi.as_view(),
        name="api-project-metric-items",
    ),
    path(f"projects/{KEY}/metrics/", apis.ProjectMetricsApi.as_view(), name="api-project-metrics"),
    path(
        f"projects/{KEY}/metrics/<str:metric>/series/",
        apis.ProjectMetricSeriesApi.as_view(),
        name="api-project-metric-series",
    ),
    path(
        f"projects/{KEY}/calibration/",
        risk_apis.ProjectCalibrationApi.as_view(),
        name="api-project-calibration",
    ),
    path(
        "releases/<int:pk>/economics/", risk_apis.ReleaseEconomicsApi.as_view(), name="api-release-economics"
    ),
    path(f"projects/{KEY}/policy/", policy_apis.ProjectPolicyApi.as_view(), name="api-project-policy"),
    path(f"projects/{KEY}/alert-rules/", apis.ProjectAlertRulesApi.as_view(), name="api-project-alert-rules"),
    path(f"projects/{KEY}/webhooks/", apis.ProjectWebhooksApi.as_view(), name="api-project-webhooks"),
    path("webhooks/<int:pk>/", apis.WebhookDetailApi.as_view(), name="api-webhook"),
    path("alert-rules/<int:pk>/", apis.AlertRuleDetailApi.as_view(), name="api-alert-rule"),
    path("alerts/", apis.AlertListApi.as_view(), name="api-alerts"),
]
