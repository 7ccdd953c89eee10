"""Forms of the evidence pages: a report upload, a measure, a custom key."""

from django import forms

from .coverage import FORMATS as COVERAGE_FORMATS
from .loadtest import FORMATS as LOADTEST_FORMATS
from .models import Direction, FindingLevel

KIND_CHOICES = [("coverage", "Coverage report"), ("sarif", "SARIF log"), ("loadtest", "Load-test result")]
FORMAT_CHOICES = (
    [("", "Tell from the file")]
    + [(f, f"Coverage: {f}") for f in COVERAGE_FORMATS]
    + [(f, f"Load test: {f}") for f in LOADTEST_FORMATS]
)


class UploadForm(forms.Form):
    kind = forms.ChoiceField(choices=KIND_CHOICES)
    format = forms.ChoiceField(choices=FORMAT_CHOICES, required=False)
    file = forms.FileField()

    def clean(self):
        data = super().clean()
        kind, fmt = data.get("kind"), data.get("format")
        if fmt and kind == "coverage" and fmt not in COVERAGE_FORMATS:
            self.add_error("format", "Choose a coverage format (or let it be told from the file).")
        if fmt and kind == "loadtest" and fmt not in LOADTEST_FORMATS:
            self.add_error("format", "Choose a load-test format (or let it be told from the file).")
        if fmt and kind == "sarif":
            self.add_error("format", "SARIF has one format; leave this empty.")
        return data


class MeasureForm(forms.Form):
    key = forms.ChoiceField(choices=[])
    value = forms.FloatField()

    def __init__(self, *args, definitions: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["key"].choices = [
            (k, f"{d.label} ({d.unit})" if d.unit else d.label) for k, d in definitions.items()
        ]


class MeasureKeyForm(forms.Form):
    key = forms.CharField(max_length=63, help_text="Lower-case letters, digits and _, e.g. bundle_size_kb.")
    label = forms.CharField(max_length=100)
    unit = forms.CharField(max_length=20, required=False)
    direction = forms.ChoiceField(choices=Direction.choices)
    description = forms.CharField(max_length=300, required=False)


class FindingFilterForm(forms.Form):
    level = forms.ChoiceField(choices=[("", "Any level")] + FindingLevel.choices, required=False)
    new = forms.ChoiceField(
        choices=[("", "New or not"), ("1", "New only"), ("0", "Known only")], required=False
    )
