from django.urls import path

from . import apis, apis_junit, apis_settings

RELEASE = "releases/<int:release_id>"

urlpatterns = [
    path("requirements/", apis.RequirementListApi.as_view(), name="api-requirements"),
    path("requirements/<int:pk>/", apis.RequirementDetailApi.as_view(), name="api-requirement"),
    path("testcases/", apis.TestCaseListApi.as_view(), name="api-testcases"),
    path("testcases/bulk-link/", apis.BulkLinkApi.as_view(), name="api-testcases-bulk-link"),
    path("testcases/<int:pk>/", apis.TestCaseDetailApi.as_view(), name="api-testcase"),
    path("runs/", apis.RunListApi.as_view(), name="api-runs"),
    path("runs/<int:pk>/", apis.RunDetailApi.as_view(), name="api-run"),
    path("runs/<int:pk>/results/", apis.RunResultsApi.as_view(), name="api-run-results"),
    path("runs/<int:pk>/complete/", apis.RunCompleteApi.as_view(), name="api-run-complete"),
    path("runs/<int:pk>/comparison/", apis.RunComparisonApi.as_view(), name="api-run-comparison"),
    path("results/<int:pk>/defect/", apis.ResultDefectApi.as_view(), name="api-result-defect"),
    path(f"{RELEASE}/runs/", apis.ManualRunCreateApi.as_view(), name="api-release-runs"),
    path(f"{RELEASE}/junit/", apis_junit.JUnitUploadApi.as_view(), name="api-release-junit"),
    path("junit-ingestions/<int:pk>/", apis_junit.JUnitIngestionApi.as_view(), name="api-junit-ingestion"),
    path(
        "projects/<str:key>/test-settings/",
        apis_settings.ProjectTestSettingsApi.as_view(),
        name="api-project-test-settings",
    ),
    path(f"{RELEASE}/traceability/", apis.TraceabilityApi.as_view(), name="api-release-traceability"),
]
