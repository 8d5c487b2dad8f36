"""The tier policy form (head office)."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from brokercrm.segments import pipeline as sp
from brokercrm.segments.choices import Tier


class TierPolicyForm(forms.Form):
    """Thresholds of silver, gold and diamond and every tier's points multiplier."""

    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(self, *args, initial_policy=None, **kwargs):
        super().__init__(*args, **kwargs)
        for tier in sp.TIERS[1:]:
            label = Tier(tier).label
            self.fields[f"{tier}_assets"] = forms.DecimalField(
                label=_("%(tier)s: 20-day average assets ≥") % {"tier": label},
                min_value=Decimal(0), max_digits=18, decimal_places=2,
            )  # fmt: skip
            self.fields[f"{tier}_commission"] = forms.DecimalField(
                label=_("%(tier)s: 12-month net commission ≥") % {"tier": label},
                min_value=Decimal(0), max_digits=18, decimal_places=2,
            )  # fmt: skip
        for tier in sp.TIERS:
            self.fields[f"{tier}_multiplier"] = forms.DecimalField(
                label=_("%(tier)s: points multiplier") % {"tier": Tier(tier).label},
                min_value=Decimal(0), max_digits=4, decimal_places=2,
            )  # fmt: skip
        self.order_fields([*(n for n in self.fields if n != "note"), "note"])
        if initial_policy is not None and not self.is_bound:
            for tier, t in initial_policy.thresholds.items():
                self.initial[f"{tier}_assets"] = t.avg_assets
                self.initial[f"{tier}_commission"] = t.net_commission
            for tier, m in initial_policy.multipliers.items():
                self.initial[f"{tier}_multiplier"] = m

    def thresholds(self) -> dict[str, sp.TierThreshold]:
        d = self.cleaned_data
        return {t: sp.TierThreshold(d[f"{t}_assets"], d[f"{t}_commission"]) for t in sp.TIERS[1:]}

    def multipliers(self) -> dict[str, Decimal]:
        return {t: self.cleaned_data[f"{t}_multiplier"] for t in sp.TIERS}
