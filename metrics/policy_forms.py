"""The risk-policy page's forms: one row per indicator."""

from django import forms
from django.forms import formset_factory

DIRECTIONS = [("", "from the metric"), ("higher", "higher is better"), ("lower", "lower is better")]


class IndicatorForm(forms.Form):
    metric = forms.ChoiceField(choices=[], required=False)
    passes = forms.FloatField(label="Pass", required=False)
    warn = forms.FloatField(required=False)
    weight = forms.FloatField(required=False, min_value=0)
    direction = forms.ChoiceField(choices=DIRECTIONS, required=False)

    def __init__(self, *args, definitions=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["metric"].choices = [("", "—")] + [
            (k, f"{d.label} ({d.unit})" if d.unit else d.label)
            for k, d in (definitions or {}).items()
            if d.scope == "release" and not d.is_series and k != "release_risk_score"
        ]

    def clean(self):
        data = super().clean()
        if data.get("metric"):
            for name in ("passes", "warn", "weight"):
                if data.get(name) is None:
                    self.add_error(name, "Required for an indicator.")
        return data


IndicatorFormSet = formset_factory(IndicatorForm, extra=2, can_delete=True)


class PolicyMetaForm(forms.Form):
    comment = forms.CharField(
        max_length=500, required=False, help_text="Why the change (kept with the version)."
    )
    expected_version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)


class EconomicsForm(forms.Form):
    """The costs behind the economics of go/no-go; all three empty = the figures are not shown."""

    delay_cost_per_day = forms.FloatField(
        required=False, min_value=0, label="Delay cost per day", help_text="What one day of postponing costs."
    )
    hotfix_cost = forms.FloatField(required=False, min_value=0, label="Hotfix cost")
    incident_cost = forms.FloatField(required=False, min_value=0, label="Incident cost")
    currency = forms.CharField(required=False, max_length=8, label="Currency", help_text="For example EUR.")
