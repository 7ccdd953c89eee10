from django.urls import path

from qualitygov.routes import object_pages

from . import views

urlpatterns = [
    path("projects/new/", views.project_create, name="project_create"),
    path("projects/<str:key>/", views.project_detail, name="project_detail"),
    path("projects/<str:key>/members/", views.project_members, name="project_members"),
    path("projects/<str:key>/releases/new/", views.release_create, name="release_create"),
    *object_pages(
        "releases",
        "release",
        listing=views.release_list,
        detail=views.release_detail,
        edit=views.release_edit,
    ),
]
