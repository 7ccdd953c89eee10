from django.urls import path
from rest_framework.routers import SimpleRouter

from . import apis

router = SimpleRouter()
router.register("projects", apis.ProjectViewSet, basename="project")
router.register("releases", apis.ReleaseViewSet, basename="release")
router.register(
    r"projects/(?P<project_key>[A-Za-z][A-Za-z0-9]{1,15})/members",
    apis.MemberViewSet,
    basename="project-member",
)

urlpatterns = [
    path("me/", apis.MeApi.as_view(), name="api-me"),
    *router.urls,
]
