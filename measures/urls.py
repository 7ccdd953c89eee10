from django.urls import path

from . import views

urlpatterns = [
    path("releases/<int:pk>/evidence/", views.release_evidence, name="release_evidence"),
    path("projects/<str:key>/measures/", views.measure_keys, name="measure_keys"),
    path(
        "projects/<str:key>/measures/<str:measure_key>/delete/",
        views.measure_key_delete,
        name="measure_key_delete",
    ),
]
