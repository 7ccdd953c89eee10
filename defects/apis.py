"""REST API for defects: CRUD with filters, moves, history, comments, bulk actions, duplicate finder.

Thin: parse with an input serializer, call one service or selector, render with an output serializer.
Defects of projects the caller is not a member of answer 404; writes need Action.EDIT_DEFECTS (403).
`{ref}` in the URLs is the defect's numeric id or its key (PAY-12).
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema_view, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from qualitygov import schema
from qualitygov.api import choice_field, created, id_field, validated
from qualitygov.endpoints import ListApi
from qualitygov.errors import DomainError
from qualitygov.services import parse_id
from releases.access import Action
from releases.api_scope import project_body
from releases.selectors import project_get_for_user

from . import selectors, services
from .models import Defect, DefectStatus, Environment, Priority, Resolution, Severity
from .references import bulk_run, defect_for, release_in, user_by_name

# --- serializers ------------------------------------------------------------------------------------


class DefectOutputSerializer(serializers.ModelSerializer):
    project = serializers.CharField(source="project.key")
    assignee = serializers.CharField(source="assignee.username", default=None, allow_null=True)
    reporter = serializers.CharField(source="reporter.username", default=None, allow_null=True)
    found_in_release = serializers.IntegerField(source="found_in_release_id", allow_null=True)
    found_in_release_version = serializers.CharField(
        source="found_in_release.version", default=None, allow_null=True
    )
    fixed_in_release = serializers.IntegerField(source="fixed_in_release_id", allow_null=True)
    fixed_in_release_version = serializers.CharField(
        source="fixed_in_release.version", default=None, allow_null=True, help_text="The fix version."
    )
    duplicate_of = serializers.IntegerField(source="duplicate_of_id", allow_null=True)
    allowed_next_statuses = serializers.ListField(child=serializers.CharField(), read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = Defect
        fields = [
            "id",
            "key",
            "number",
            "project",
            "external_id",
            "title",
            "description",
            "severity",
            "priority",
            "component",
            "status",
            "resolution",
            "assignee",
            "reporter",
            "found_in_release",
            "found_in_release_version",
            "found_in_environment",
            "fixed_in_release",
            "fixed_in_release_version",
            "duplicate_of",
            "created_at",
            "updated_at",
            "version",
            "allowed_next_statuses",
            "url",
        ]

    def get_url(self, obj: Defect) -> str:
        return f"/defects/{obj.key}/"


class DefectCreateSerializer(serializers.Serializer):
    project = serializers.CharField(help_text="Project key.")
    title = serializers.CharField(max_length=300)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    severity = choice_field(Severity.MAJOR)
    priority = choice_field(Priority.MEDIUM)
    component = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    found_in_release = serializers.CharField(
        required=False, allow_null=True, default=None, help_text="Release id or version."
    )
    found_in_environment = choice_field(Environment.TEST)
    fixed_in_release = serializers.CharField(
        required=False, allow_null=True, default=None, help_text="Fix version: release id or version."
    )
    assignee = serializers.CharField(required=False, allow_null=True, allow_blank=True, default=None)
    created_at = serializers.DateTimeField(
        required=False, allow_null=True, default=None, help_text="Past creation time (importers only)."
    )
    external_id = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    requirements = serializers.ListField(child=id_field(), required=False, default=list)
    test_cases = serializers.ListField(child=id_field(), required=False, default=list)
    test_results = serializers.ListField(child=id_field(), required=False, default=list)


class DefectUpdateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=300, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    severity = serializers.ChoiceField(Severity.choices, required=False)
    priority = serializers.ChoiceField(Priority.choices, required=False)
    component = serializers.CharField(max_length=100, required=False, allow_blank=True)
    assignee = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    found_in_release = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    fixed_in_release = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    found_in_environment = serializers.ChoiceField(Environment.choices, required=False)
    expected_version = serializers.IntegerField(required=False, min_value=1)


class TransitionInputSerializer(serializers.Serializer):
    to = serializers.ChoiceField(DefectStatus.choices)
    resolution = serializers.ChoiceField(Resolution.choices, required=False, allow_blank=True, default="")
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=20000)
    at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    expected_version = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1)
    duplicate_of = serializers.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        default=None,
        help_text="Id or key of the original (with resolution 'duplicate').",
    )


class TransitionOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    resolution = serializers.CharField()
    at = serializers.DateTimeField()
    by = serializers.CharField(source="by.username", default=None)
    comment = serializers.CharField()


class CommentInputSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=20000)


class CommentOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    author = serializers.CharField(source="author.username", default=None)
    body = serializers.CharField()
    created_at = serializers.DateTimeField()


class BulkInputSerializer(serializers.Serializer):
    ids = serializers.ListField(child=id_field(), allow_empty=False, max_length=services.MAX_BULK_ROWS)
    action = serializers.ChoiceField([(a, a) for a in services.BulkAction.ALL])
    assignee = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    severity = serializers.ChoiceField(Severity.choices, required=False)
    priority = serializers.ChoiceField(Priority.choices, required=False)
    to = serializers.ChoiceField(DefectStatus.choices, required=False)
    resolution = serializers.ChoiceField(Resolution.choices, required=False, allow_blank=True)
    comment = serializers.CharField(required=False, allow_blank=True, max_length=20000)
    original = serializers.CharField(required=False, help_text="Id or key of the original (mark_duplicate).")
    release = serializers.CharField(required=False, help_text="Release id or version (add_to_release).")


class SimilarOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="defect.pk")
    key = serializers.CharField(source="defect.key")
    title = serializers.CharField(source="defect.title")
    status = serializers.CharField(source="defect.status")
    resolution = serializers.CharField(source="defect.resolution")
    score = serializers.FloatField()


TRANSITION_RESULT = inline_serializer(
    "TransitionResult", {"transition": TransitionOutputSerializer(), "defect": DefectOutputSerializer()}
)
BULK_REPORT = inline_serializer(
    "BulkReport",
    {
        "action": serializers.CharField(),
        "changed": serializers.ListField(child=serializers.CharField()),
        "unchanged": serializers.ListField(child=serializers.CharField()),
        "refused": serializers.ListField(child=serializers.DictField()),
        "counts": serializers.DictField(),
    },
)


def _serialize(defect: Defect) -> dict:
    return DefectOutputSerializer(defect).data


def _reload(request, defect: Defect) -> Defect:
    return defect_for(request, str(defect.pk))


# --- list and create --------------------------------------------------------------------------------


WINDOW_HELP = "Created (opened_*) or closed, a move from open into resolved (closed_*), in (after, to]."


# The list's filters, as selectors.DefectFilters reads them from the query string.
FILTERS = [
    OpenApiParameter("project", str, description="Project key."),
    OpenApiParameter("release", str, description="Found-in release id or version; 'none' for none."),
    OpenApiParameter("status", str, description="Comma-separated states; 'open' for every open state."),
    OpenApiParameter("severity", str, description="Comma-separated severities."),
    OpenApiParameter("priority", str, description="Comma-separated priorities."),
    OpenApiParameter("assignee", str, description="Username; 'none' for unassigned."),
    OpenApiParameter("component", str),
    OpenApiParameter("environment", str, enum=Environment.values),
    OpenApiParameter("external_id", str, description="Id in the tracker it was imported from."),
    OpenApiParameter("q", str, description="Text in the title, or a key / external id."),
    OpenApiParameter(
        "as_of",
        str,
        description="Only defects that existed at T; release, status, severity and environment are "
        "matched as they were at T (replayed from their history), as the metrics as of T count them.",
    ),
    *(OpenApiParameter(name, str, description=WINDOW_HELP) for name in selectors.WINDOW_PARAMS),
    OpenApiParameter(
        "sort",
        str,
        description="key, title, severity, priority, status, assignee, created, "
        "updated; '-' in front for descending.",
    ),
]


@extend_schema_view(
    get=schema.reads(
        "Defects of your projects, filtered", DefectOutputSerializer(many=True), parameters=FILTERS
    ),
    post=schema.creates("Create a defect", DefectCreateSerializer, DefectOutputSerializer),
)
class DefectListApi(ListApi):
    serializer_class = DefectOutputSerializer

    def rows(self, request, params):
        return selectors.defect_list(
            user=request.user, filters=selectors.DefectFilters.from_querydict(params)
        )

    def post(self, request):
        project, data = project_body(request, DefectCreateSerializer, action=Action.EDIT_DEFECTS)
        for name in ("found_in_release", "fixed_in_release"):
            data[name] = release_in(project, data[name], field=name)
        data["assignee"] = user_by_name(data["assignee"], project=project)
        for name in ("requirements", "test_cases"):
            data[name] = _linked(data[name], name, project)
        data["test_results"] = _linked(
            data["test_results"], "test_results", project, related=("release",), path="release__project"
        )
        defect = services.defect_create(project=project, by=request.user, **data)
        return created(DefectOutputSerializer, _reload(request, defect))


def _linked(ids: list[int], field: str, project, related: tuple[str, ...] = (), path: str = "project"):
    """The objects of `project` with these ids for the defect's relation `field` (requirements, test cases, test
    results: testing's models, reached through the relation, as testing imports defects and not the other way);
    an id of another project is reported like a missing one."""
    if not ids:
        return []
    model = Defect._meta.get_field(field).related_model
    objects = list(model.objects.filter(pk__in=ids, **{path: project}).select_related(*related))
    missing = sorted(set(ids) - {o.pk for o in objects})
    if missing:
        raise DomainError(
            f"No {field.replace('_', ' ')} with id {', '.join(map(str, missing))}.", field=field
        )
    return objects


# --- one defect -------------------------------------------------------------------------------------


class DefectDetailApi(APIView):
    @schema.reads("One defect", DefectOutputSerializer)
    def get(self, request, ref: str):
        return Response(_serialize(defect_for(request, ref)))

    @schema.changes(
        "Edit fields (audit trail kept); send expected_version to detect conflicts",
        DefectUpdateSerializer,
        DefectOutputSerializer,
    )
    def patch(self, request, ref: str):
        defect = defect_for(request, ref, action=Action.EDIT_DEFECTS)
        data = validated(DefectUpdateSerializer, request.data, partial=True)
        v = dict(data.validated_data)
        expected = v.pop("expected_version", None)
        if not v:
            raise DomainError("Nothing to change: send at least one field.")
        if "assignee" in v:
            v["assignee"] = user_by_name(v["assignee"], project=defect.project)
        for name in ("found_in_release", "fixed_in_release"):
            if name in v:
                v[name] = release_in(defect.project, v[name], field=name)
        services.defect_update(defect=defect, by=request.user, data=v, expected_version=expected)
        return Response(_serialize(_reload(request, defect)))

    @schema.deletes("Delete a defect and its history (project admins only)")
    def delete(self, request, ref: str):
        defect = defect_for(request, ref)
        services.defect_delete(defect=defect, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DefectTransitionApi(APIView):
    @schema.reads("The defect's moves, oldest first", TransitionOutputSerializer(many=True))
    def get(self, request, ref: str):
        defect = defect_for(request, ref)
        moves = defect.transitions.select_related("by").order_by("at", "id")
        return Response(TransitionOutputSerializer(moves, many=True).data)

    @schema.creates("Move the defect to another state", TransitionInputSerializer, TRANSITION_RESULT)
    def post(self, request, ref: str):
        defect = defect_for(request, ref, action=Action.EDIT_DEFECTS)
        data = dict(validated(TransitionInputSerializer, request.data).validated_data)
        ref = data.pop("duplicate_of")
        original = defect_for(request, str(ref)) if ref else None
        move = services.defect_transition(defect=defect, by=request.user, duplicate_of=original, **data)
        return Response(
            {
                "transition": TransitionOutputSerializer(move).data,
                "defect": _serialize(_reload(request, defect)),
            },
            status=status.HTTP_201_CREATED,
        )


class DefectHistoryApi(APIView):
    @schema.reads(
        "Transitions, field changes and comments, time-ordered",
        inline_serializer(
            "HistoryEvent",
            {
                "kind": serializers.CharField(),
                "at": serializers.DateTimeField(),
                "by": serializers.CharField(),
                "data": serializers.DictField(),
            },
            many=True,
        ),
    )
    def get(self, request, ref: str):
        defect = defect_for(request, ref)
        events = selectors.defect_timeline(defect=defect)
        return Response([{"kind": e.kind, "at": e.at, "by": e.by, "data": e.data} for e in events])


class DefectCommentApi(APIView):
    @schema.reads("Comments, oldest first", CommentOutputSerializer(many=True))
    def get(self, request, ref: str):
        defect = defect_for(request, ref)
        return Response(CommentOutputSerializer(defect.comments.select_related("author"), many=True).data)

    @schema.creates("Add a comment", CommentInputSerializer, CommentOutputSerializer)
    def post(self, request, ref: str):
        defect = defect_for(request, ref, action=Action.EDIT_DEFECTS)
        data = validated(CommentInputSerializer, request.data).validated_data
        return created(
            CommentOutputSerializer, services.defect_comment_add(defect=defect, by=request.user, **data)
        )


class DefectBulkApi(APIView):
    @schema.changes(
        "One action on many defects: one transaction, a per-row report of refusals",
        BulkInputSerializer,
        BULK_REPORT,
    )
    def post(self, request):
        data = validated(BulkInputSerializer, request.data)
        report = bulk_run(request, data.validated_data)
        return Response(report.as_dict())


# --- duplicate finder -------------------------------------------------------------------------------


class DefectSimilarApi(APIView):
    @schema.reads(
        "Existing defects most similar to this one (duplicate candidates)",
        SimilarOutputSerializer(many=True),
        operation_id="defects_similar_to_defect",
        parameters=[OpenApiParameter("limit", int, description="1-20, default 5")],
    )
    def get(self, request, ref: str):
        defect = defect_for(request, ref)
        found = selectors.defect_similar_to(defect=defect, limit=_limit(request))
        return Response(SimilarOutputSerializer(found, many=True).data)


class SimilarSearchApi(APIView):
    @schema.reads(
        "Defects of a project most similar to a title and description",
        SimilarOutputSerializer(many=True),
        operation_id="defects_similar_search",
        parameters=[
            OpenApiParameter("project", str, required=True),
            OpenApiParameter("title", str),
            OpenApiParameter("description", str),
            OpenApiParameter("limit", int),
        ],
    )
    def get(self, request):
        key = request.query_params.get("project", "")
        if not key:
            raise DomainError("Give the project key: ?project=KEY.", field="project")
        title = request.query_params.get("title", "")
        description = request.query_params.get("description", "")
        if not title.strip() and not description.strip():
            raise DomainError("Give a title or a description to compare.", field="title")
        project = project_get_for_user(user=request.user, key=key)
        found = selectors.defect_similar_list(
            project_id=project.pk, title=title, description=description, limit=_limit(request)
        )
        return Response(SimilarOutputSerializer(found, many=True).data)


def _limit(request) -> int:
    limit = parse_id(request.query_params.get("limit", "5"))
    if limit is None or limit > 20:
        raise DomainError("'limit' is a whole number from 1 to 20.", field="limit")
    return limit
