from django.urls import path

from . import apis

urlpatterns = [
    path(
        "releases/<int:release_id>/coverage/", apis.CoverageUploadApi.as_view(), name="api-release-coverage"
    ),
    path("releases/<int:release_id>/sarif/", apis.SarifUploadApi.as_view(), name="api-release-sarif"),
    path(
        "releases/<int:release_id>/loadtest/", apis.LoadtestUploadApi.as_view(), name="api-release-loadtest"
    ),
    path("releases/<int:release_id>/measures/", apis.MeasuresApi.as_view(), name="api-release-measures"),
    path("releases/<int:release_id>/findings/", apis.FindingsApi.as_view(), name="api-release-findings"),
    path(
        "projects/<str:key>/measure-keys/", apis.MeasureKeyListApi.as_view(), name="api-project-measure-keys"
    ),
    path(
        "projects/<str:key>/measure-keys/<str:measure_key>/",
        apis.MeasureKeyDetailApi.as_view(),
        name="api-project-measure-key",
    ),
]
