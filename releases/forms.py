"""Forms for the release and member pages. They parse input; the services decide."""

from django import forms

from .models import ChangeClass, Project, Release, ReleaseStatus, Role


class ProjectForm(forms.Form):
    key = forms.CharField(max_length=16, help_text="2-16 upper-case letters or digits, e.g. PAY.")
    name = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea, required=False)


class ReleaseForm(forms.Form):
    version = forms.CharField(max_length=64)
    name = forms.CharField(max_length=200, required=False)
    status = forms.ChoiceField(choices=ReleaseStatus.choices, initial=ReleaseStatus.PLANNING)
    change_class = forms.ChoiceField(choices=ChangeClass.choices, initial=ChangeClass.MINOR)
    planned_release_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    actual_release_date = forms.DateTimeField(
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="When it reached production (UTC). Left empty on a released release: now.",
    )
    hotfix_for = forms.ModelChoiceField(
        queryset=Release.objects.none(),
        required=False,
        help_text="For a hotfix: the release whose failure it repairs.",
    )
    description = forms.CharField(widget=forms.Textarea, required=False)

    def __init__(self, *args, project: Project, instance: Release | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        others = Release.objects.filter(project=project).order_by("-created_at", "-id")
        if instance is not None:
            others = others.exclude(pk=instance.pk)
        self.fields["hotfix_for"].queryset = others


class MemberAddForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)
