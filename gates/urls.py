from django.urls import path

from . import report_views, views

urlpatterns = [
    path("gates/", views.gate_index, name="index"),
    path("gates/<int:pk>/edit/", views.gate_edit, name="edit"),
    path("projects/<str:key>/gates/new/", views.gate_new, name="new"),
    path("projects/<str:key>/audit/", report_views.audit_log, name="audit"),
    path("releases/<int:pk>/gates/", views.release_gates, name="release_gates"),
    path("releases/<int:pk>/gates/panel/", views.release_gates_panel, name="release_gates_panel"),
    path("releases/<int:pk>/gates/<int:gate_id>/evaluate/", views.gate_evaluate, name="evaluate"),
    path("releases/<int:pk>/gates/<int:gate_id>/decide/", views.decide, name="decide"),
    path("releases/<int:pk>/checklist/<int:item_id>/sign/", views.signoff_create, name="sign"),
    path("signoffs/<int:pk>/revoke/", views.signoff_revoke, name="revoke"),
    path("evaluations/<int:pk>/", views.evaluation_detail, name="evaluation"),
    path("releases/<int:pk>/readiness/", report_views.readiness, name="readiness"),
    path("releases/<int:pk>/readiness.pdf", report_views.readiness_pdf, name="readiness_pdf"),
]
