"""REST API for metrics, trends, alert rules, webhooks and alerts. Thin: parse, call a selector or service, render."""

from django.http import Http404
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from notifications.kinds import WEBHOOK_DEFAULT_KINDS, Kind
from qualitygov import schema
from qualitygov.api import choice_field, created, id_field, sent
from qualitygov.endpoints import ListApi
from qualitygov.errors import DomainError
from qualitygov.timeparams import parse_as_of, parse_window
from releases.access import Action
from releases.api_scope import create_in_project, project_input, project_row
from releases.models import Release
from releases.selectors import (
    project_get_for_action,
    project_get_for_user,
    project_list_for_user,
    release_list_for_user,
)

from . import alerts as alert_services
from . import drilldown, selectors, services
from .flow import defect_flow
from .models import Alert, AlertDirection, AlertRule, PayloadFormat, Webhook
from .registry import definitions_for

MAX_SERIES_DAYS = 400


def _release_for(user, pk: int) -> Release:
    release = release_list_for_user(user=user).filter(pk=pk).first()
    if release is None:
        raise Http404("No such release.")
    return release


class MetricSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    scope = serializers.ChoiceField(choices=["release", "project"])
    unit = serializers.CharField()
    higher_is_better = serializers.BooleanField()
    value = serializers.FloatField(allow_null=True, help_text="null means no data, never 0.")
    n = serializers.IntegerField(help_text="Sample size behind the value.")
    details = serializers.DictField(help_text="median/p90 of time metrics, risk-score indicators, ...")
    as_of = serializers.DateTimeField(help_text="The instant the value is for (T).")
    computed_at = serializers.DateTimeField()
    source = serializers.ChoiceField(
        choices=["snapshot", "fresh"], help_text="A current stored snapshot, or computed for this request."
    )
    updating = serializers.BooleanField(help_text="A recompute of this scope is queued.")
    drilldown = serializers.CharField(
        allow_null=True,
        help_text="API list of exactly the items the value counts, with the same as_of (null: none).",
    )


class SeriesPointSerializer(serializers.Serializer):
    bucket = serializers.DateField()
    value = serializers.FloatField(allow_null=True)
    n = serializers.IntegerField()
    details = serializers.DictField()


SERIES_PARAMS = [
    OpenApiParameter(
        "from", str, description="ISO datetime, or a date meaning its start (default: 30 days before `to`)."
    ),
    OpenApiParameter("to", str, description="ISO datetime, or a date meaning its end (default: now)."),
    OpenApiParameter("bucket", str, enum=["day", "week"], description="Bucket size (default day)."),
]


AS_OF_PARAM = OpenApiParameter(
    "as_of",
    str,
    description="ISO datetime, or a date meaning the end of that day (UTC). Default: now. Not in the future.",
)
# What the release and the project metric lists have in common: the rows and `?as_of=`.
METRIC_ROWS = {"response": MetricSerializer(many=True), "parameters": [AS_OF_PARAM]}


class ReleaseMetricsApi(APIView):
    @schema.reads(
        "Every metric of a release (and its project) with value, n, unit and computed_at", **METRIC_ROWS
    )
    def get(self, request, pk: int):
        release = _release_for(request.user, pk)
        as_of = parse_as_of(request.query_params.get("as_of"))
        rows = selectors.release_metric_rows(release=release, as_of=as_of)
        return Response(MetricSerializer(rows, many=True).data)


class ReleaseMetricItemsApi(APIView):
    @extend_schema(
        summary="Drill-down: the items a release metric counts as of T (count metrics: count == value; rates: "
        "numerator and denominator lists)",
        parameters=[AS_OF_PARAM],
        responses={
            200: OpenApiResponse(description="{key, as_of, value, parts: {part: {count, items}}}"),
        },
    )
    def get(self, request, pk: int, key: str):
        release = _release_for(request.user, pk)
        if key not in drilldown.PARTS:
            raise DomainError(f"'{key}' has no item list.", field="key", code="unknown_metric")
        as_of = parse_as_of(request.query_params.get("as_of")) or selectors.release_as_of_now(release=release)
        value = services.compute_release_scope(release=release, keys=[key], as_of=as_of)[key]
        return Response(
            {
                "key": key,
                "as_of": as_of,
                "value": value.value,
                "n": value.n,
                "parts": drilldown.drilldown_parts(release=release, key=key, as_of=as_of),
            }
        )


class ProjectMetricItemsApi(APIView):
    @extend_schema(
        summary="Drill-down: the incidents (mttr_hours) or releases (change_failure_rate) a project metric counts",
        parameters=[AS_OF_PARAM],
        responses={
            200: OpenApiResponse(description="{key, as_of, value, n, parts: {part: {count, items}}}"),
        },
    )
    def get(self, request, key: str, metric: str):
        from .project_metrics import project_metrics

        project = project_get_for_user(user=request.user, key=key)
        if metric not in drilldown.PROJECT_PARTS:
            raise DomainError(f"'{metric}' has no item list.", field="key", code="unknown_metric")
        as_of = parse_as_of(request.query_params.get("as_of")) or selectors.project_as_of_now(project=project)
        value = project_metrics(project=project, as_of=as_of, keys=[metric])[metric]
        parts = drilldown.project_drilldown_parts(project=project, key=metric, as_of=as_of)
        return Response({"key": metric, "as_of": as_of, "value": value.value, "n": value.n, "parts": parts})


class ProjectMetricsApi(APIView):
    @schema.reads(
        "Project metrics (MTTR with median/p90/open incidents, change failure rate, stability index)",
        **METRIC_ROWS,
    )
    def get(self, request, key: str):
        project = project_get_for_user(user=request.user, key=key)
        as_of = parse_as_of(request.query_params.get("as_of"))
        rows = selectors.project_metric_rows(project=project, as_of=as_of)
        return Response(MetricSerializer(rows, many=True).data)


def _series(request, *, key: str, release=None, project=None) -> Response:
    definitions = definitions_for(release.project if release is not None else project)
    if key not in definitions:
        raise DomainError(f"Unknown metric '{key}'.", field="key", code="unknown_metric")
    definition = definitions[key]
    if release is None and definition.scope == "release":
        raise DomainError(
            f"'{key}' is a release metric; ask /releases/<id>/metrics/{key}/series/.", field="key"
        )
    bucket = request.query_params.get("bucket", "day")
    if bucket not in ("day", "week"):
        raise DomainError("bucket must be 'day' or 'week'.", field="bucket")
    start, end = parse_window(request.query_params, default_days=30, max_days=MAX_SERIES_DAYS)
    if definition.is_series:
        buckets = defect_flow(
            start=start, end=end, bucket=bucket, release=release, project=None if release else project
        )
        points = [
            {
                "bucket": b["bucket"],
                "value": b["net"],
                "n": b["opened"] + b["closed"] + b["reopened"],
                "details": b,
            }
            for b in buckets
        ]
    else:
        target = (
            {"release_id": release.pk}
            if definition.scope == "release"
            else {"project_id": (release.project_id if release else project.pk)}
        )
        points = selectors.metric_series(key=key, start=start, end=end, bucket=bucket, **target)
    return Response(
        {
            "key": key,
            "unit": definition.unit,
            "bucket": bucket,
            "from": start,
            "to": end,
            "points": SeriesPointSerializer(points, many=True).data,
        }
    )


# What the release and the project series have in common: the window parameters and the series body.
SERIES = {
    "response": inline_serializer(
        "MetricSeries",
        {
            "key": serializers.CharField(),
            "unit": serializers.CharField(),
            "bucket": serializers.CharField(),
            "from": serializers.DateTimeField(),
            "to": serializers.DateTimeField(),
            "points": SeriesPointSerializer(many=True),
        },
    ),
    "parameters": SERIES_PARAMS,
}


class ReleaseMetricSeriesApi(APIView):
    @schema.reads(
        "Trend of one metric of a release (daily snapshots; defect_flow computed from history)", **SERIES
    )
    def get(self, request, pk: int, key: str):
        return _series(request, key=key, release=_release_for(request.user, pk))


class ProjectMetricSeriesApi(APIView):
    @schema.reads(
        "Trend of one project metric (mttr_hours, change_failure_rate, stability_index, defect_flow)",
        **SERIES,
    )
    def get(self, request, key: str, metric: str):
        return _series(request, key=metric, project=project_get_for_user(user=request.user, key=key))


class ReleaseRecomputeApi(APIView):
    @extend_schema(
        summary="Ask for a recompute of the release's and its project's metrics (coalesced, asynchronous)",
        request=None,
        responses={202: OpenApiResponse(description="Recorded; a worker recomputes shortly.")},
    )
    def post(self, request, pk: int):
        release = _release_for(request.user, pk)
        services.recompute_request(release=release, by=request.user)
        return Response({"detail": "Recompute scheduled."}, status=status.HTTP_202_ACCEPTED)


# --- Alert rules, webhooks, alerts --------------------------------------------------------------------------------


class WebhookOutputSerializer(serializers.ModelSerializer):
    event_kinds = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Webhook
        fields = ["id", "name", "url", "active", "payload_format", "event_kinds", "created_at"]


class WebhookInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    url = serializers.URLField(max_length=500)
    secret = serializers.CharField(min_length=16, max_length=128, help_text="Shared HMAC secret.")
    payload_format = choice_field(
        PayloadFormat.JSON,
        help_text='"json": QualityGov\'s signed JSON; "slack": {"text": ...} for Slack-compatible incoming webhooks.',
    )
    event_kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=Kind.choices),
        required=False,
        max_length=len(Kind.values),
        help_text="Notification kinds sent to this webhook besides its alerts; default: "
        + ", ".join(WEBHOOK_DEFAULT_KINDS),
    )


class AlertRuleOutputSerializer(serializers.ModelSerializer):
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    webhooks = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    project = serializers.SlugRelatedField(slug_field="key", read_only=True)

    class Meta:
        model = AlertRule
        fields = [
            "id",
            "project",
            "metric",
            "threshold",
            "direction",
            "owner",
            "webhooks",
            "active",
            "created_at",
        ]


class AlertRuleInputSerializer(serializers.Serializer):
    metric = serializers.CharField(
        max_length=64, help_text="A scalar metric key or a measure key of the project."
    )
    threshold = serializers.FloatField()
    direction = serializers.ChoiceField(choices=AlertDirection.values)
    owner = serializers.CharField(required=False, allow_null=True, help_text="Username of a project member.")
    webhooks = serializers.ListField(child=id_field(), required=False, default=list)
    active = serializers.BooleanField(required=False, default=True)


class AlertOutputSerializer(serializers.ModelSerializer):
    project = serializers.SlugRelatedField(slug_field="key", read_only=True)
    release = serializers.SlugRelatedField(slug_field="version", read_only=True)
    active = serializers.BooleanField(source="is_active")

    class Meta:
        model = Alert
        fields = [
            "id",
            "rule",
            "project",
            "release",
            "metric",
            "value",
            "threshold",
            "direction",
            "fired_at",
            "cleared_at",
            "active",
        ]


def _resolve_rule_input(project, data: dict) -> dict:
    from django.contrib.auth import get_user_model

    out = dict(data)
    if "owner" in data:
        owner = None
        if data["owner"]:
            owner = (
                get_user_model().objects.filter(username=data["owner"], memberships__project=project).first()
            )
            if owner is None:
                raise DomainError(f"'{data['owner']}' is not a member of {project.key}.", field="owner")
        out["owner"] = owner
    if "webhooks" in data:
        hooks = list(Webhook.objects.filter(project=project, pk__in=data["webhooks"]))
        if len(hooks) != len(set(data["webhooks"])):
            raise DomainError("Unknown webhook id for this project.", field="webhooks")
        out["webhooks"] = hooks
    return out


class ProjectAlertRulesApi(APIView):
    @schema.reads("Alert rules of a project", AlertRuleOutputSerializer(many=True))
    def get(self, request, key: str):
        project = project_get_for_user(user=request.user, key=key)
        return Response(AlertRuleOutputSerializer(selectors.alert_rules_for(project=project), many=True).data)

    @schema.creates(
        "Create an alert rule (project admin)", AlertRuleInputSerializer, AlertRuleOutputSerializer
    )
    def post(self, request, key: str):
        project, data = project_input(request, key, AlertRuleInputSerializer, action=Action.MANAGE_GATES)
        data = _resolve_rule_input(project, data)
        data.pop("active")  # a new rule starts active (the field is for changes)
        return created(
            AlertRuleOutputSerializer,
            alert_services.alert_rule_create(project=project, by=request.user, **data),
        )


def _rule(request, pk: int, action=None) -> AlertRule:
    rules = AlertRule.objects.select_related("project", "owner")
    return project_row(request, rules, pk, message="No such alert rule.", action=action)


def _webhook(request, pk: int) -> Webhook:
    """A webhook of one of the user's projects; only project admins may see or change one."""
    webhooks = Webhook.objects.select_related("project")
    return project_row(request, webhooks, pk, message="No such webhook.", action=Action.MANAGE_GATES)


class AlertRuleDetailApi(APIView):
    @schema.reads("One alert rule", AlertRuleOutputSerializer)
    def get(self, request, pk: int):
        return Response(AlertRuleOutputSerializer(_rule(request, pk)).data)

    @schema.changes(
        "Change an alert rule (project admin); a changed condition re-arms it",
        AlertRuleInputSerializer(partial=True),
        AlertRuleOutputSerializer,
    )
    def patch(self, request, pk: int):
        rule = _rule(request, pk, Action.MANAGE_GATES)
        data = _resolve_rule_input(rule.project, sent(request, AlertRuleInputSerializer))
        rule = alert_services.alert_rule_update(rule=rule, data=data, by=request.user)
        return Response(AlertRuleOutputSerializer(rule).data)

    @schema.deletes("Delete an alert rule (project admin)")
    def delete(self, request, pk: int):
        alert_services.alert_rule_delete(rule=_rule(request, pk, Action.MANAGE_GATES), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProjectWebhooksApi(APIView):
    @schema.reads("Webhooks of a project (secrets are never returned)", WebhookOutputSerializer(many=True))
    def get(self, request, key: str):
        project = project_get_for_action(user=request.user, key=key, action=Action.MANAGE_GATES)
        return Response(WebhookOutputSerializer(Webhook.objects.filter(project=project), many=True).data)

    @schema.creates("Register a webhook (project admin)", WebhookInputSerializer, WebhookOutputSerializer)
    def post(self, request, key: str):
        return create_in_project(
            request,
            key,
            Action.MANAGE_GATES,
            WebhookInputSerializer,
            WebhookOutputSerializer,
            alert_services.webhook_create,
        )


class WebhookUpdateSerializer(WebhookInputSerializer):
    url = serializers.URLField(max_length=500, required=False)
    secret = serializers.CharField(
        min_length=16, max_length=128, required=False, help_text="Shared HMAC secret."
    )
    active = serializers.BooleanField(required=False)


class WebhookDetailApi(APIView):
    @schema.reads("One webhook (project admin; the secret is never returned)", WebhookOutputSerializer)
    def get(self, request, pk: int):
        return Response(WebhookOutputSerializer(_webhook(request, pk)).data)

    @schema.changes(
        "Change a webhook (project admin): name, url, secret, active, payload_format, event_kinds",
        WebhookUpdateSerializer(partial=True),
        WebhookOutputSerializer,
    )
    def patch(self, request, pk: int):
        webhook = _webhook(request, pk)
        data = sent(request, WebhookUpdateSerializer)
        return Response(
            WebhookOutputSerializer(
                alert_services.webhook_update(webhook=webhook, data=data, by=request.user)
            ).data
        )


@extend_schema_view(
    get=schema.reads(
        "Alerts of your projects, newest first",
        AlertOutputSerializer(many=True),
        parameters=[
            OpenApiParameter("project", str, description="Project key."),
            OpenApiParameter("active", bool, description="Only alerts not cleared yet."),
        ],
    )
)
class AlertListApi(ListApi):
    serializer_class = AlertOutputSerializer

    def rows(self, request, params):
        projects = project_list_for_user(user=request.user)
        if params.get("project"):
            projects = projects.filter(key=params["project"].upper())
        qs = Alert.objects.filter(project__in=projects).select_related("project", "release")
        if params.get("active") in ("1", "true", "True"):
            qs = qs.filter(cleared_at__isnull=True)
        return qs
