from django.urls import path

from . import apis

REF = "<str:ref>"

urlpatterns = [
    path("defects/", apis.DefectListApi.as_view(), name="api-defect-list"),
    path("defects/bulk/", apis.DefectBulkApi.as_view(), name="api-defect-bulk"),
    path("defects/similar/", apis.SimilarSearchApi.as_view(), name="api-defect-similar-search"),
    path(f"defects/{REF}/", apis.DefectDetailApi.as_view(), name="api-defect-detail"),
    path(f"defects/{REF}/transitions/", apis.DefectTransitionApi.as_view(), name="api-defect-transitions"),
    path(f"defects/{REF}/history/", apis.DefectHistoryApi.as_view(), name="api-defect-history"),
    path(f"defects/{REF}/comments/", apis.DefectCommentApi.as_view(), name="api-defect-comments"),
    path(f"defects/{REF}/similar/", apis.DefectSimilarApi.as_view(), name="api-defect-similar"),
]
