"""Forms of the incident pages (times are entered in UTC)."""

import datetime as dt

from django import forms
from django.contrib.auth import get_user_model

from defects.models import Defect
from releases.models import Release

from .models import ActionItemStatus, IncidentSeverity

DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class UTCDateTimeField(forms.DateTimeField):
    """A datetime-local value read as UTC."""

    def to_python(self, value):
        result = super().to_python(value)
        if result is not None:
            result = result.replace(tzinfo=dt.UTC) if result.tzinfo is None else result.astimezone(dt.UTC)
        return result


class IncidentForm(forms.Form):
    title = forms.CharField(max_length=300)
    severity = forms.ChoiceField(choices=IncidentSeverity.choices, initial=IncidentSeverity.SEV3)
    release = forms.ModelChoiceField(
        queryset=Release.objects.none(),
        required=False,
        help_text="The release the incident is attributed to.",
    )
    started_at = UTCDateTimeField(widget=DATETIME, label="Started (UTC)")
    detected_at = UTCDateTimeField(
        widget=DATETIME, label="Detected (UTC)", required=False, help_text="Defaults to the start."
    )
    restored_at = UTCDateTimeField(
        widget=DATETIME,
        label="Restored (UTC)",
        required=False,
        help_text="Leave empty while the incident is open.",
    )
    description = forms.CharField(widget=forms.Textarea, required=False)
    defects = forms.ModelMultipleChoiceField(
        queryset=Defect.objects.none(), required=False, widget=forms.SelectMultiple(attrs={"size": 6})
    )

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["release"].queryset = Release.objects.filter(project=project).order_by("-created_at")
        self.fields["defects"].queryset = Defect.objects.filter(
            pk__in=Defect.objects.filter(project=project).order_by("-created_at").values("pk")[:500]
        )


class ProjectChoiceForm(forms.Form):
    project = forms.ChoiceField(choices=())

    def __init__(self, *args, projects, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].choices = [(p.key, f"{p.key} · {p.name}") for p in projects]


class PostMortemForm(forms.Form):
    summary = forms.CharField(widget=forms.Textarea)
    root_cause = forms.CharField(widget=forms.Textarea, required=False)
    findings = forms.CharField(widget=forms.Textarea, required=False)
    lessons = forms.CharField(widget=forms.Textarea, required=False)


class ActionItemForm(forms.Form):
    title = forms.CharField(max_length=300)
    owner = forms.ModelChoiceField(queryset=get_user_model().objects.none(), required=False)
    due_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = (
            get_user_model().objects.filter(memberships__project=project).order_by("username")
        )


class ActionItemStatusForm(forms.Form):
    status = forms.ChoiceField(choices=ActionItemStatus.choices)
