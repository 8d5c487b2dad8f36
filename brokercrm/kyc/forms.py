"""Plain Django forms of the KYC pages: they parse input; the services validate the rules."""

from __future__ import annotations

from django import forms
from django.forms import formset_factory
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from brokercrm.customers.choices import InvestHorizon, InvestVariety
from brokercrm.kyc.choices import KnowledgeTestKind, QuestionKind, RecognitionKind

CODE_CHOICES = (
    [("", "—")]
    + [(v, format_lazy("{}: {}", _("Horizon"), label)) for v, label in InvestHorizon.choices]
    + [(v, format_lazy("{}: {}", _("Variety"), label)) for v, label in InvestVariety.choices]
)


class QuestionForm(forms.Form):
    text = forms.CharField(label=_("Question"), max_length=300, widget=forms.TextInput(attrs={"size": 60}))
    kind = forms.ChoiceField(label=_("Kind"), choices=QuestionKind.choices)
    multi_select = forms.BooleanField(label=_("Several answers allowed"), required=False)


class OptionForm(forms.Form):
    text = forms.CharField(label=_("Answer"), max_length=300, required=False, widget=forms.TextInput(attrs={"size": 40}))
    score = forms.IntegerField(label=_("Score"), min_value=0, max_value=100, required=False)
    code = forms.ChoiceField(label=_("Maps to"), choices=CODE_CHOICES, required=False)
    lowest_category = forms.BooleanField(label=_("Lowest category"), required=False)


OptionFormSet = formset_factory(OptionForm, extra=2, max_num=12)


class RecognitionForm(forms.Form):
    kind = forms.ChoiceField(label=_("Request"), choices=RecognitionKind.choices)
    financial_assets = forms.DecimalField(label=_("Financial assets (yuan)"), max_digits=18, decimal_places=2, min_value=0, required=False)
    net_assets = forms.DecimalField(label=_("Net assets (yuan, institutions)"), max_digits=18, decimal_places=2, min_value=0, required=False)
    annual_income = forms.DecimalField(
        label=_("Average annual income of the last 3 years (yuan)"), max_digits=18, decimal_places=2, min_value=0, required=False
    )
    experience_years = forms.DecimalField(label=_("Years of investment experience"), max_digits=4, decimal_places=1, min_value=0, required=False)
    finance_work_years = forms.DecimalField(label=_("Years of work in finance"), max_digits=4, decimal_places=1, min_value=0, required=False)
    qualifications = forms.CharField(label=_("Professional qualifications"), max_length=1000, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    risk_warning_issued = forms.BooleanField(label=_("Risk warning issued to the customer"), required=False)
    written_request = forms.BooleanField(label=_("Customer's written request received"), required=False)
    note = forms.CharField(label=_("Note"), max_length=500, required=False)
    # evidence documents are read from ``request.FILES.getlist("documents")`` (several allowed)


class KnowledgeTestForm(forms.Form):
    test = forms.ChoiceField(label=_("Test"), choices=KnowledgeTestKind.choices)
    score = forms.IntegerField(label=_("Score"), min_value=0, max_value=100)
    taken_on = forms.DateField(label=_("Taken on"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
