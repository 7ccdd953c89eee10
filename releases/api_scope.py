"""API plumbing for what belongs to a project: the project a request names (by a body's `project` key, the URL's key,
or through a row of it), looked up as every route looks it up (404 for a non-member) and, when the operation needs a
role, checked against it (403)."""

from django.http import Http404
from rest_framework import serializers

from qualitygov.api import created, validated

from .access import require
from .selectors import project_get_for_action, project_get_for_user


# A body that names its project by key, for `project_body`; its fields follow `project`. (A comment, not a docstring:
# drf-spectacular would publish a docstring as the description of every body built on it.)
class ProjectKeyInput(serializers.Serializer):
    project = serializers.CharField(help_text="Project key, e.g. PAY.")


def project_body(request, serializer_class, *, action=None):
    """`(project, data)`: the body validated by `serializer_class` (400 with field errors) and the project its
    `project` key names, taken out of the data; with `action`, 403 unless the caller's role there allows it."""
    data = dict(validated(serializer_class, request.data).validated_data)
    key = data.pop("project")
    if action is None:
        return project_get_for_user(user=request.user, key=key), data
    return project_get_for_action(user=request.user, key=key, action=action), data


def project_input(request, key: str, serializer_class, *, action):
    """`(project, data)` for a write to the project the URL names: 404 for a non-member and 403 unless the caller's
    role there allows `action`, before the body is read; then the body validated by `serializer_class`."""
    project = project_get_for_action(user=request.user, key=key, action=action)
    return project, dict(validated(serializer_class, request.data).validated_data)


def create_in_project(request, key: str, action, serializer_class, output_class, create):
    """201 with what `create(project=..., by=..., **data)` made in the project the URL names, for a caller whose role
    allows `action` (`project_input`: 404, 403, then the body validated by `serializer_class`), rendered by
    `output_class`."""
    project, data = project_input(request, key, serializer_class, action=action)
    return created(output_class, create(project=project, by=request.user, **data))


def project_row(request, queryset, pk: int, *, message: str, action=None):
    """The row `pk` of `queryset` (404 with `message` when there is none), then its project as every project route
    answers it: 404 for a non-member and, with `action`, 403 unless the caller's role there allows it."""
    row = queryset.filter(pk=pk).first()
    if row is None:
        raise Http404(message)
    project_get_for_user(user=request.user, key=row.project.key)
    if action is not None:
        require(request.user, row.project, action)
    return row
