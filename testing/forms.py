"""Forms for the testing pages. They parse input; the services decide."""

from django import forms

from defects.models import Environment, Priority, Severity
from qualitygov.services import parse_ids

from .models import Criticality, RegressionPolicy, Requirement, TestCaseKind


class RequirementForm(forms.Form):
    key = forms.CharField(max_length=40, help_text="Stable key such as REQ-12, unique in the project.")
    title = forms.CharField(max_length=300)
    description = forms.CharField(widget=forms.Textarea, required=False)
    criticality = forms.ChoiceField(choices=Criticality.choices, initial=Criticality.MEDIUM)
    component = forms.CharField(max_length=100, required=False)
    releases = forms.MultipleChoiceField(
        required=False,
        help_text="Releases whose scope includes it.",
        widget=forms.SelectMultiple(attrs={"size": 5}),
    )

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["releases"].choices = [
            (r.pk, r.version) for r in project.releases.order_by("-created_at").only("id", "version")
        ]

    def service_data(self) -> dict:
        """The cleaned data as the services take it: the chosen releases as `release_ids`."""
        data = dict(self.cleaned_data)
        data["release_ids"] = parse_ids(data.pop("releases"))
        return data


def parse_steps(text: str) -> list[dict[str, str]]:
    """One step per line: `action => expected result` (the expected part is optional)."""
    steps = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        action, _, expected = line.partition("=>")
        steps.append({"action": action.strip(), "expected": expected.strip()})
    return steps


def format_steps(steps: list[dict[str, str]]) -> str:
    return "\n".join(
        f"{s.get('action', '')} => {s['expected']}" if s.get("expected") else s.get("action", "")
        for s in steps
    )


class TestCaseForm(forms.Form):
    title = forms.CharField(max_length=500)
    kind = forms.ChoiceField(choices=TestCaseKind.choices, initial=TestCaseKind.MANUAL)
    suite = forms.CharField(max_length=500, required=False)
    component = forms.CharField(max_length=100, required=False)
    preconditions = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    steps = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}),
        required=False,
        help_text="One step per line: action => expected result.",
    )
    requirements = forms.MultipleChoiceField(required=False, widget=forms.SelectMultiple(attrs={"size": 6}))

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["requirements"].choices = [
            (r.pk, f"{r.key} {r.title}")
            for r in Requirement.objects.filter(project=project).only("id", "key", "title")
        ]

    def clean_steps(self):
        return parse_steps(self.cleaned_data.get("steps", ""))

    def service_data(self) -> dict:
        """The cleaned data as the services take it: the chosen requirements as `requirement_ids`."""
        data = dict(self.cleaned_data)
        data["requirement_ids"] = parse_ids(data.pop("requirements"))
        return data


class ManualRunForm(forms.Form):
    name = forms.CharField(max_length=200, required=False)
    environment = forms.ChoiceField(choices=Environment.choices, initial=Environment.TEST)


class FileDefectForm(forms.Form):
    """The defect to file from a failed result, prefilled for review. Blank fields take the prefilled text."""

    title = forms.CharField(max_length=300, required=False, widget=forms.TextInput(attrs={"size": 60}))
    severity = forms.ChoiceField(choices=Severity.choices, initial=Severity.MAJOR, required=False)
    priority = forms.ChoiceField(choices=Priority.choices, initial=Priority.MEDIUM, required=False)
    component = forms.CharField(max_length=100, required=False)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 12}), required=False, max_length=20000)


class TestSettingsForm(forms.Form):
    on_regression = forms.ChoiceField(
        label="When a test linked to a resolved defect fails again",
        choices=RegressionPolicy.choices,
        widget=forms.RadioSelect,
    )
