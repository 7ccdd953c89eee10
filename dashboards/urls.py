from django.urls import path

from . import views

urlpatterns = [
    path("dashboards/", views.portfolio, name="portfolio"),
    path("releases/<int:pk>/dashboard/", views.release_dashboard, name="release_dashboard"),
    path("releases/<int:pk>/dashboard/recompute/", views.release_recompute, name="release_recompute"),
    path("projects/<str:key>/dashboard/", views.project_dashboard, name="project_dashboard"),
]
