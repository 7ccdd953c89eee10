from django.urls import path

from . import views

urlpatterns = [
    path("projects/<str:key>/alerts/", views.alert_rules, name="alert_rules"),
    path("projects/<str:key>/policy/", views.project_policy, name="project_policy"),
    path("projects/<str:key>/alerts/<int:pk>/delete/", views.alert_rule_delete, name="alert_rule_delete"),
    path(
        "releases/<int:release_id>/metrics/<str:key>/",
        views.release_metric_items,
        name="release_metric_items",
    ),
    path("projects/<str:key>/metrics/<str:metric>/", views.project_metric_items, name="project_metric_items"),
]
