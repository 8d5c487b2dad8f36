"""Human labels of decision reasons (``pool:<name>`` included), for pages and warning texts."""

from __future__ import annotations

from typing import Iterable

from django.utils.translation import gettext

from brokercrm.customers.choices import Pool
from brokercrm.suitability.choices import POOL_REASON_PREFIX, Reason


def reason_label(code: str) -> str:
    if code.startswith(POOL_REASON_PREFIX):
        pool = code[len(POOL_REASON_PREFIX) :]
        name = str(Pool(pool).label) if pool in Pool.values else pool
        return gettext("Not in the qualified pool: %(pool)s") % {"pool": name}
    return str(Reason(code).label) if code in Reason.values else code


def reason_labels(codes: Iterable[str]) -> list[str]:
    return [reason_label(c) for c in codes]
