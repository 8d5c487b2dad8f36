"""The navigation a user sees follows their role's capabilities (``org.policy``)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from brokercrm.org.policy import Capability, role_can
from brokercrm.org.scope import acting_employee

#: (url name, label, capability needed or None)
NAVIGATION = (
    ("home", _("Home"), None),
    ("customers:list", _("Customers"), Capability.VIEW_CUSTOMERS),
    ("customers:leads", _("Potential customers"), Capability.VIEW_CUSTOMERS),
    ("kyc:expiring", _("Assessments expiring"), Capability.ASSESS_RISK),
    ("products:list", _("Products"), Capability.VIEW_PRODUCTS),
    ("datacenter:pools", _("Qualified pools"), Capability.VIEW_POOLS),
    ("tags:list", _("Tags"), Capability.VIEW_CUSTOMERS),
    ("segments:list", _("Segments"), Capability.VIEW_CUSTOMERS),
    ("suitability:records", _("Suitability records"), Capability.VIEW_SUITABILITY_RECORDS),
    ("service:workspace", _("My day"), Capability.VIEW_CUSTOMERS),
    ("service:team", _("Team view"), Capability.MANAGE_TASKS),
    # market events are market information: researchers (MANAGE_EVENTS) and everyone serving customers
    ("service:events", _("Market events"), None),
    ("org:tree", _("Organisation"), None),
    ("org:audit", _("Audit log"), Capability.VIEW_AUDIT),
    ("datacenter:status", _("Data center"), Capability.VIEW_DATACENTER),
)


def _active(path: str, url: str) -> bool:
    # a section is active on its own pages too (/products/P0001/ under /products/); home only on /
    return path == url or (url != "/" and path.startswith(url) and not _longer_match(path, url))


def _longer_match(path: str, url: str) -> bool:
    # /customers/leads/ belongs to "Potential customers", not to "Customers"
    return any(
        other != url and other.startswith(url) and path.startswith(other)
        for other in (reverse(name) for name, _label, _cap in NAVIGATION)
    )


def navigation(request):
    employee = acting_employee(getattr(request, "user", None))
    if employee is None:
        return {"nav_items": [], "employee": None}
    items = [
        {
            "url": reverse(name),
            "label": label,
            "active": _active(request.path, reverse(name)),
            "testid": "nav-" + name.replace(":", "-"),
        }
        for name, label, capability in NAVIGATION
        if capability is None or role_can(employee.role, capability)
    ]
    return {
        "nav_items": items,
        "employee": employee,
        "can_admin": role_can(employee.role, Capability.MANAGE_ORG),
    }
