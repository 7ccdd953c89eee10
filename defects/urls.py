from django.urls import path

from . import views

urlpatterns = [
    path("defects/", views.board, name="board"),
    path("defects/bulk/", views.bulk, name="bulk"),
    path("defects/new/", views.create, name="create"),
    path("defects/new/similar/", views.similar_preview, name="similar_preview"),
    path("defects/import/", views.import_jira, name="import"),
    path("defects/<str:key>/", views.detail, name="detail"),
    path("defects/<str:key>/move/", views.move, name="move"),
    path("defects/<str:key>/comment/", views.comment, name="comment"),
    path("defects/<str:key>/edit/", views.edit, name="edit"),
    path("defects/<str:key>/duplicate/", views.mark_duplicate, name="mark_duplicate"),
    path("defects/<str:key>/similar/", views.similar_for_defect, name="similar"),
]
