"""Forms for the gate editor, sign-offs and decisions. Validation of the rules lives in gates.services."""

from django import forms
from django.forms import formset_factory

from qualitygov.services import MAX_ID
from releases.models import ChangeClass, ReleaseStatus, Role

from .models import ORDER_MAX, DecisionKind, MissingData, Operator


def metric_choices(project=None) -> list[tuple[str, str]]:
    """Scalar metrics of the registry and the project's measure keys, labelled with unit and scope."""
    from metrics.registry import definitions_for

    return [
        (key, f"{d.label} ({d.unit}, {d.scope})" if d.unit else f"{d.label} ({d.scope})")
        for key, d in sorted(
            definitions_for(project).items(), key=lambda kv: (kv[1].scope != "release", kv[1].label)
        )
        if not d.is_series
    ]


class GateForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    order = forms.IntegerField(min_value=0, max_value=ORDER_MAX, initial=0)
    is_active = forms.BooleanField(required=False, initial=True, label="Active")
    evaluate_on_schedule = forms.BooleanField(required=False, initial=True, label="Evaluate on schedule")
    # The release move the gate guards (the service refuses a move the lifecycle does not allow, naming those it does).
    from_status = forms.ChoiceField(
        choices=ReleaseStatus.choices,
        initial=ReleaseStatus.READY,
        required=False,
        label="Guards the move from",
    )
    to_status = forms.ChoiceField(
        choices=ReleaseStatus.choices, initial=ReleaseStatus.RELEASED, required=False, label="to"
    )
    revision = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def clean(self):
        data = super().clean()
        for field in ("from_status", "to_status"):
            if not data.get(
                field
            ):  # not sent: a new gate guards ready -> released, an edited one keeps its move
                data.pop(field, None)
        return data


def parse_class_thresholds(text: str) -> dict:
    """ "major 97/99, hotfix 90" -> {"major": {"error_threshold": 97.0, "warn_threshold": 99.0}, "hotfix": {...}}.

    Each part is a change class, then the error threshold and optionally "/" and the warn threshold. The rules
    of the thresholds themselves (warn the stricter bound) are checked by the gate services."""
    out: dict[str, dict] = {}
    for part in (p.strip() for p in text.replace(";", ",").split(",")):
        if not part:
            continue
        words = part.replace(":", " ").replace("=", " ").split()
        if len(words) != 2 or words[0].lower() not in ChangeClass.values:
            raise ValueError(
                f"'{part[:40]}': write a change class ({', '.join(ChangeClass.values)}) and error[/warn], "
                "for example 'major 97/99'."
            )
        numbers = words[1].split("/")
        try:
            values = [float(n) for n in numbers]
        except ValueError:
            raise ValueError(f"'{part[:40]}': thresholds must be numbers.") from None
        if len(values) > 2:
            raise ValueError(f"'{part[:40]}': give at most an error and a warn threshold.")
        out[words[0].lower()] = {
            "error_threshold": values[0],
            "warn_threshold": values[1] if len(values) == 2 else None,
        }
    return out


def format_class_thresholds(thresholds: dict) -> str:
    """The editor's text for stored per-class thresholds (the inverse of parse_class_thresholds)."""
    parts = []
    for change_class in ChangeClass.values:
        pair = (thresholds or {}).get(change_class)
        if pair:
            text = f"{pair['error_threshold']:g}"
            if pair.get("warn_threshold") is not None:
                text += f"/{pair['warn_threshold']:g}"
            parts.append(f"{change_class} {text}")
    return ", ".join(parts)


class ConditionForm(forms.Form):
    id = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID, widget=forms.HiddenInput)
    metric = forms.ChoiceField(choices=(), required=False)
    operator = forms.ChoiceField(choices=Operator.choices, required=False)
    error_threshold = forms.FloatField(required=False)
    warn_threshold = forms.FloatField(required=False)
    key = forms.BooleanField(required=False)
    missing_data = forms.ChoiceField(choices=MissingData.choices, initial=MissingData.FAIL, required=False)
    order = forms.IntegerField(min_value=0, max_value=ORDER_MAX, required=False)
    class_thresholds = forms.CharField(
        required=False,
        max_length=300,
        label="Per change class",
        help_text="For example: major 97/99, hotfix 90 (error/warn; a class left out uses the default pair).",
        widget=forms.TextInput(attrs={"placeholder": "major 97/99, hotfix 90", "size": 18}),
    )

    def __init__(self, *args, project=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["metric"].choices = [("", "—")] + metric_choices(project)

    def clean(self):
        """A row without a metric is an unused blank row; a row with one needs an operator and error threshold."""
        data = super().clean()
        if data.get("metric"):
            if not data.get("operator"):
                self.add_error("operator", "Choose an operator.")
            if data.get("error_threshold") is None:
                self.add_error("error_threshold", "An error threshold is required.")
        try:
            data["class_thresholds"] = parse_class_thresholds(data.get("class_thresholds") or "")
        except ValueError as exc:
            self.add_error("class_thresholds", str(exc))
        return data


class ChecklistItemForm(forms.Form):
    id = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID, widget=forms.HiddenInput)
    text = forms.CharField(max_length=300, required=False)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.RELEASE_MANAGER)
    order = forms.IntegerField(min_value=0, max_value=ORDER_MAX, required=False)


ConditionFormSet = formset_factory(ConditionForm, extra=2, can_delete=True)
ChecklistItemFormSet = formset_factory(ChecklistItemForm, extra=1, can_delete=True)


def formset_rows(formset) -> list[dict]:
    """The filled, not-deleted rows of a valid formset, as dicts for the services."""
    rows = []
    for index, form in enumerate(formset.forms):
        data = form.cleaned_data
        if not data or data.get("DELETE") or not (data.get("metric") or data.get("text")):
            continue
        row = {k: v for k, v in data.items() if k != "DELETE"}
        if row.get("order") is None:
            row["order"] = index
        rows.append(row)
    return rows


class SignoffForm(forms.Form):
    comment = forms.CharField(
        required=False, max_length=2000, widget=forms.TextInput(attrs={"placeholder": "Comment"})
    )


class RevokeForm(forms.Form):
    reason = forms.CharField(
        max_length=2000, widget=forms.TextInput(attrs={"placeholder": "Reason (required)"})
    )


class DecisionForm(forms.Form):
    evaluation = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1, max_value=MAX_ID)
    decision = forms.ChoiceField(choices=DecisionKind.choices, widget=forms.RadioSelect)
    rationale = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
