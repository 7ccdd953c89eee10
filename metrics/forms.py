"""Forms of the alert-rule page."""

from django import forms
from django.contrib.auth import get_user_model

from notifications.kinds import WEBHOOK_DEFAULT_KINDS, Kind

from .models import AlertDirection, PayloadFormat, Webhook
from .registry import definitions_for


class AlertRuleForm(forms.Form):
    metric = forms.ChoiceField(choices=[])
    direction = forms.ChoiceField(choices=AlertDirection.choices)
    threshold = forms.FloatField()
    owner = forms.ModelChoiceField(
        queryset=get_user_model().objects.none(),
        required=False,
        help_text="Receives the e-mail; the escalation path.",
    )
    webhooks = forms.ModelMultipleChoiceField(
        queryset=Webhook.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        definitions = definitions_for(project)
        self.fields["metric"].choices = [
            (k, f"{d.label} ({d.unit})" if d.unit else d.label)
            for k, d in definitions.items()
            if not d.is_series
        ]
        self.fields["owner"].queryset = (
            get_user_model().objects.filter(memberships__project=project).order_by("username")
        )
        self.fields["webhooks"].queryset = Webhook.objects.filter(project=project, active=True)


class WebhookForm(forms.Form):
    name = forms.CharField(max_length=100)
    url = forms.URLField(max_length=500, assume_scheme="https")
    secret = forms.CharField(
        min_length=16,
        max_length=128,
        widget=forms.PasswordInput(render_value=False),
        help_text="At least 16 characters; used for the X-QualityGov-Signature HMAC (a chat service ignores it).",
    )
    payload_format = forms.ChoiceField(
        label="Payload",
        choices=PayloadFormat.choices,
        initial=PayloadFormat.JSON,
        widget=forms.RadioSelect,
    )
    event_kinds = forms.MultipleChoiceField(
        label="Notifications it receives (besides the alerts of its rules)",
        choices=Kind.choices,
        initial=list(WEBHOOK_DEFAULT_KINDS),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def clean_url(self):
        from qualitygov import outbound

        url = self.cleaned_data["url"]
        try:
            outbound.validate_url(url)
        except outbound.OutboundRefused as exc:
            raise forms.ValidationError(exc.message) from exc
        return url
