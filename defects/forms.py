"""Forms of the defect pages. They only parse input; the services decide what is allowed."""

from django import forms

from .models import DefectStatus, Environment, Priority, Resolution, Severity


class DefectCreateForm(forms.Form):
    project = forms.ChoiceField(choices=())
    title = forms.CharField(max_length=300, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 6}))
    severity = forms.ChoiceField(choices=Severity.choices, initial=Severity.MAJOR)
    priority = forms.ChoiceField(choices=Priority.choices, initial=Priority.MEDIUM)
    component = forms.CharField(max_length=100, required=False)
    found_in_release = forms.TypedChoiceField(choices=(), required=False, coerce=int, empty_value=None)
    found_in_environment = forms.ChoiceField(choices=Environment.choices, initial=Environment.TEST)
    fixed_in_release = forms.TypedChoiceField(
        choices=(), required=False, coerce=int, empty_value=None, label="Fix version"
    )
    assignee = forms.TypedChoiceField(choices=(), required=False, coerce=int, empty_value=None)

    def __init__(self, *args, projects=(), releases=(), members=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].choices = [(p.key, f"{p.key} · {p.name}") for p in projects]
        release_choices = [("", "—")] + [(r.pk, f"{r.project.key} {r.version}") for r in releases]
        self.fields["found_in_release"].choices = release_choices
        self.fields["fixed_in_release"].choices = release_choices
        self.fields["assignee"].choices = [("", "Unassigned")] + [(u.pk, u.username) for u in members]


class MoveForm(forms.Form):
    to = forms.ChoiceField(choices=DefectStatus.choices)
    resolution = forms.ChoiceField(choices=[("", "—"), *Resolution.choices], required=False)
    comment = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=20000)
    expected_version = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)


class CommentForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=20000)


class EditForm(forms.Form):
    severity = forms.ChoiceField(choices=Severity.choices)
    priority = forms.ChoiceField(choices=Priority.choices)
    assignee = forms.TypedChoiceField(choices=(), required=False, coerce=int, empty_value=None)
    component = forms.CharField(max_length=100, required=False)
    fixed_in_release = forms.TypedChoiceField(
        choices=(), required=False, coerce=int, empty_value=None, label="Fix version"
    )
    expected_version = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args, members=(), releases=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = [("", "Unassigned")] + [(u.pk, u.username) for u in members]
        self.fields["fixed_in_release"].choices = [("", "—")] + [(r.pk, r.version) for r in releases]


class JiraImportForm(forms.Form):
    project = forms.ChoiceField(choices=())
    file = forms.FileField(help_text="A Jira CSV export (UTF-8).")
    environment = forms.ChoiceField(
        choices=[("", "Unknown (the export does not say)"), *Environment.choices],
        required=False,
        initial="",
        help_text="Where the imported defects were found.",
    )
    timezone = forms.CharField(
        max_length=64,
        initial="UTC",
        required=False,
        help_text="Time zone of the export's timestamps without a zone (IANA name, default UTC).",
    )
    dry_run = forms.BooleanField(required=False, help_text="Check everything, write nothing.")

    def __init__(self, *args, projects=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].choices = [(p.key, f"{p.key} · {p.name}") for p in projects]


UNASSIGN = "!unassign"  # not a possible username: the bulk bar's "Unassigned" choice


class BulkApplyForm(forms.Form):
    """The board's bulk bar: every field starts at "no change"; only what is chosen is applied."""

    assignee = forms.CharField(required=False, max_length=150)
    severity = forms.ChoiceField(choices=[("", "no change"), *Severity.choices], required=False)
    priority = forms.ChoiceField(choices=[("", "no change"), *Priority.choices], required=False)
    to = forms.ChoiceField(choices=[("", "no change"), *DefectStatus.choices], required=False)
    resolution = forms.ChoiceField(choices=[("", "—"), *Resolution.choices], required=False)
    release = forms.CharField(required=False, max_length=64)
    original = forms.CharField(required=False, max_length=64)
    comment = forms.CharField(required=False, max_length=20000)

    def steps(self) -> list[tuple[str, dict]]:
        """The chosen changes as bulk steps, in the order they are applied."""
        v = self.cleaned_data
        steps: list[tuple[str, dict]] = []
        if v["assignee"]:
            steps.append(("assign", {"assignee": "" if v["assignee"] == UNASSIGN else v["assignee"]}))
        if v["severity"]:
            steps.append(("set_severity", {"severity": v["severity"]}))
        if v["priority"]:
            steps.append(("set_priority", {"priority": v["priority"]}))
        if v["release"]:
            steps.append(("add_to_release", {"release": v["release"]}))
        if v["to"]:
            steps.append(("move", {"to": v["to"], "resolution": v["resolution"], "comment": v["comment"]}))
        if v["original"]:
            steps.append(("mark_duplicate", {"original": v["original"], "comment": v["comment"]}))
        return steps

    def summary(self, release_label: str = "") -> list[str]:
        """What the Apply sets, in words ("severity → Critical")."""
        v = self.cleaned_data
        said = []
        if v["assignee"]:
            said.append(f"assignee → {'nobody' if v['assignee'] == UNASSIGN else v['assignee']}")
        if v["severity"]:
            said.append(f"severity → {Severity(v['severity']).label}")
        if v["priority"]:
            said.append(f"priority → {Priority(v['priority']).label}")
        if v["release"]:
            said.append(f"found in release → {release_label or v['release']}")
        if v["to"]:
            resolution = f" ({Resolution(v['resolution']).label})" if v["resolution"] else ""
            said.append(f"status → {DefectStatus(v['to']).label}{resolution}")
        if v["original"]:
            said.append(f"duplicate of {v['original'].upper()}")
        return said
