"""Forms of proactive service: parse and validate input; the rules live in ``services``."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from brokercrm.service.choices import Direction, RequestChannel, RequestKind, RequestStatus, VisitChannel, VisitOutcome


class EventForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(label=_("Description"), max_length=4000, required=False, widget=forms.Textarea(attrs={"rows": 3}))
    securities = forms.CharField(
        label=_("Affected securities"),
        required=False,
        max_length=4000,
        help_text=_("Exchange and code, separated by commas: SH600036, SZ000001"),
    )
    industries = forms.CharField(
        label=_("Affected industries"),
        required=False,
        max_length=1000,
        help_text=_("Shenwan industries, separated by commas: every security of the industry is affected"),
    )
    direction = forms.ChoiceField(label=_("Direction"), choices=Direction.choices)
    impact = forms.TypedChoiceField(label=_("Impact"), choices=[(i, str(i)) for i in range(1, 6)], coerce=int)
    suggestion_c1_c2 = forms.CharField(label=_("Suggestion for C1–C2"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    suggestion_c3 = forms.CharField(label=_("Suggestion for C3"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    suggestion_c4_c5 = forms.CharField(label=_("Suggestion for C4–C5"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    suggestion_professional = forms.CharField(
        label=_("Suggestion for professional investors"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


def split_list(text: str) -> list[str]:
    """``"SH600036, SZ000001，银行"`` → the items (commas, Chinese commas, spaces and new lines)."""
    for separator in ("，", "、", "\n", ";", " "):
        text = text.replace(separator, ",")
    return [item.strip() for item in text.split(",") if item.strip()]


class VisitForm(forms.Form):
    channel = forms.ChoiceField(label=_("Channel"), choices=VisitChannel.choices)
    content = forms.CharField(label=_("What was said or done"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    outcome = forms.ChoiceField(label=_("Outcome"), choices=VisitOutcome.choices)
    next_follow_up = forms.DateField(
        label=_("Next follow-up"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class RequestForm(forms.Form):
    """A service request or complaint, recorded for a customer."""

    kind = forms.ChoiceField(label=_("Kind"), choices=RequestKind.choices)
    channel = forms.ChoiceField(label=_("Channel"), choices=RequestChannel.choices)
    content = forms.CharField(label=_("What the customer asked or complained about"), max_length=4000, widget=forms.Textarea(attrs={"rows": 2}))


class RequestAdvanceForm(forms.Form):
    status = forms.ChoiceField(label=_("New status"), choices=RequestStatus.choices)
    note = forms.CharField(
        label=_("Note (the resolution when resolving)"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class ReassignForm(forms.Form):
    to = forms.ModelChoiceField(label=_("Give to"), queryset=None)
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)

    def __init__(self, *args, choices=(), **kwargs):
        from brokercrm.org.models import Employee

        super().__init__(*args, **kwargs)
        self.fields["to"].queryset = Employee.objects.filter(pk__in=[e.pk for e in choices]).select_related("user")


class HandOverForm(forms.Form):
    account_manager = forms.ModelChoiceField(label=_("New account manager"), queryset=None)
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)

    def __init__(self, *args, managers=None, **kwargs):
        from brokercrm.org.models import Employee

        super().__init__(*args, **kwargs)
        self.fields["account_manager"].queryset = managers if managers is not None else Employee.objects.none()


class ServicePolicyForm(forms.Form):
    """Head office's thresholds of the data-driven tasks (``rules.DATA_RULE_DEFAULTS``)."""

    large_withdrawal_amount = forms.DecimalField(label=_("Large withdrawal: bank transfers out in a day ≥ (¥)"), min_value=0, decimal_places=2)
    net_outflow_ratio = forms.DecimalField(label=_("Net outflow: share of assets ≥ (0–1)"), min_value=0, max_value=1, decimal_places=4)
    net_outflow_days = forms.IntegerField(label=_("Net outflow: over trading days"), min_value=1, max_value=60)
    margin_warning_ratio = forms.DecimalField(label=_("Margin warning below maintenance ratio (1.50 = 150 %)"), min_value=0, decimal_places=4)
    margin_call_ratio = forms.DecimalField(label=_("Margin call below maintenance ratio (1.30 = 130 %)"), min_value=0, decimal_places=4)
    assessment_expiring_days = forms.IntegerField(label=_("Risk assessment expiring within (days)"), min_value=1, max_value=365)
    dormant_days = forms.IntegerField(label=_("Dormant: no trade for (days)"), min_value=1, max_value=3650)
    birthday_days_ahead = forms.IntegerField(label=_("Birthday: raise days ahead"), min_value=1, max_value=60)
    big_flow_amount = forms.DecimalField(label=_("Workspace: a big flow is ≥ (¥)"), min_value=0, decimal_places=2)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)
