from django.urls import path

from qualitygov.routes import object_pages

from . import views, views_junit, views_runs, views_settings

urlpatterns = [
    *object_pages(
        "requirements",
        "requirement",
        listing=views.requirement_list,
        create=views.requirement_form,
        detail=views.requirement_detail,
        edit=views.requirement_form,
    ),
    path("requirements/<int:pk>/link/", views.requirement_link, name="requirement_link"),
    *object_pages(
        "testcases",
        "testcase",
        listing=views.testcase_list,
        create=views.testcase_form,
        edit=views.testcase_form,
    ),
    path("testcases/bulk-link/", views.testcase_bulk_link, name="testcase_bulk_link"),
    path("runs/", views_runs.run_list, name="run_list"),
    path("runs/upload/", views_junit.junit_upload, name="junit_upload"),
    path("runs/uploads/<int:pk>/", views_junit.junit_ingestion, name="junit_ingestion"),
    path(
        "runs/uploads/<int:pk>/status/",
        views_junit.junit_ingestion,
        {"fragment": True},
        name="junit_ingestion_status",
    ),
    path("runs/<int:pk>/", views_runs.run_detail, name="run_detail"),
    path("runs/<int:pk>/execute/", views_runs.run_execute, name="run_execute"),
    path("runs/<int:pk>/execute/<int:case_id>/", views_runs.run_record, name="run_record"),
    path("runs/<int:pk>/counts/", views_runs.run_counts, name="run_counts"),
    path("runs/<int:pk>/complete/", views_runs.run_complete, name="run_complete"),
    path("results/<int:pk>/defect/", views_runs.result_file_defect, name="result_file_defect"),
    path("releases/<int:release_id>/runs/new/", views_runs.run_create, name="run_create"),
    path("releases/<int:release_id>/traceability/", views.traceability, name="traceability"),
    path(
        "projects/<str:key>/test-settings/",
        views_settings.project_test_settings,
        name="project_test_settings",
    ),
]
