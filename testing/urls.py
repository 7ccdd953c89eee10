from django.urls import path

from . import views, views_junit, views_runs, views_settings

urlpatterns = [
    path("requirements/", views.requirement_list, name="requirement_list"),
    path("requirements/new/", views.requirement_form, name="requirement_create"),
    path("requirements/<int:pk>/", views.requirement_detail, name="requirement_detail"),
    path("requirements/<int:pk>/edit/", views.requirement_form, name="requirement_edit"),
    path("requirements/<int:pk>/link/", views.requirement_link, name="requirement_link"),
    path("testcases/", views.testcase_list, name="testcase_list"),
    path("testcases/new/", views.testcase_form, name="testcase_create"),
    path("testcases/bulk-link/", views.testcase_bulk_link, name="testcase_bulk_link"),
    path("testcases/<int:pk>/edit/", views.testcase_form, name="testcase_edit"),
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
