"""Signals of the KYC app.

``customer_profile_changed`` is sent (synchronously, inside the transaction that made the change)
whenever a customer's effective suitability profile may have changed: a risk assessment recorded
in the CRM, a change of the counter's risk or class fields applied by the publish, or an investor
class changed by an approved professional-investor recognition. Receivers (suitability re-matching,
DOMAIN.md: "When customer or product information changes, affected customers are re-matched and
told") get::

    sender    the sending function's module (``"brokercrm.kyc.services"``)
    customer  the ``customers.models.Customer`` whose profile changed (fields already updated)
    actor     the user who made the change, or ``None`` for the counter (publish)
    reason    one of the ``REASON_*`` constants below
"""

from __future__ import annotations

from django.dispatch import Signal

#: a risk assessment was taken in the CRM
REASON_CRM_ASSESSMENT = "crm_assessment"
#: the counter's risk level, expiry, horizon, varieties or investor class changed (publish)
REASON_COUNTER_CHANGE = "counter_change"
#: a professional-investor recognition or conversion was approved
REASON_INVESTOR_CLASS = "investor_class"

customer_profile_changed = Signal()
