from django.urls import path

from . import views

app_name = "metrics"

urlpatterns = [
    path("dashboards/", views.portfolio, name="portfolio"),
    path("releases/<int:pk>/dashboard/", views.release_dashboard, name="release_dashboard"),
    path("releases/<int:pk>/dashboard/recompute/", views.release_recompute, name="release_recompute"),
    path("projects/<str:key>/dashboard/", views.project_dashboard, name="project_dashboard"),
    path("projects/<str:key>/alerts/", views.alert_rules, name="alert_rules"),
    path("projects/<str:key>/alerts/<int:pk>/delete/", views.alert_rule_delete, name="alert_rule_delete"),
]
