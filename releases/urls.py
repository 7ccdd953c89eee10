from django.urls import path

from . import views

urlpatterns = [
    path("projects/new/", views.project_create, name="project_create"),
    path("projects/<str:key>/", views.project_detail, name="project_detail"),
    path("projects/<str:key>/members/", views.project_members, name="project_members"),
    path("projects/<str:key>/releases/new/", views.release_create, name="release_create"),
    path("releases/", views.release_list, name="release_list"),
    path("releases/<int:pk>/", views.release_detail, name="release_detail"),
    path("releases/<int:pk>/edit/", views.release_edit, name="release_edit"),
]
