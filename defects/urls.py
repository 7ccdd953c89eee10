from django.urls import path

from . import views, views_create, views_detail

urlpatterns = [
    path("defects/", views.board, name="board"),
    path("defects/bulk/", views.bulk, name="bulk"),
    path("defects/new/", views_create.create, name="create"),
    path("defects/new/similar/", views_create.similar_preview, name="similar_preview"),
    path("defects/import/", views_create.import_jira, name="import"),
    path("defects/<str:key>/", views_detail.detail, name="detail"),
    path("defects/<str:key>/move/", views_detail.move, name="move"),
    path("defects/<str:key>/comment/", views_detail.comment, name="comment"),
    path("defects/<str:key>/edit/", views_detail.edit, name="edit"),
    path("defects/<str:key>/duplicate/", views_detail.mark_duplicate, name="mark_duplicate"),
    path("defects/<str:key>/similar/", views_detail.similar_for_defect, name="similar"),
]
