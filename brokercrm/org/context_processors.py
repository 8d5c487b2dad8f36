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
    ("org:tree", _("Organisation"), None),
    ("org:audit", _("Audit log"), Capability.VIEW_AUDIT),
    ("datacenter:status", _("Data center"), Capability.VIEW_DATACENTER),
)


def navigation(request):
    employee = acting_employee(getattr(request, "user", None))
    if employee is None:
        return {"nav_items": [], "employee": None}
    items = [
        {"url": reverse(name), "label": label, "active": request.path == reverse(name)}
        for name, label, capability in NAVIGATION
        if capability is None or role_can(employee.role, capability)
    ]
    return {
        "nav_items": items,
        "employee": employee,
        "can_admin": role_can(employee.role, Capability.MANAGE_ORG),
    }
