"""What each role may do: the one table every check reads (DESIGN.md, "Who uses it").

A capability missing from a role's set is denied; there is no default that lets anything
through. Customer *rows* are further limited by the data scope (``org.scope``).
"""

from __future__ import annotations

from enum import StrEnum

from brokercrm.org.choices import Role


class Capability(StrEnum):
    VIEW_CUSTOMERS = "view_customers"
    #: unmasked ID numbers and mobiles (the people who must contact or verify the customer)
    VIEW_PII = "view_pii"
    EXPORT_CUSTOMERS = "export_customers"
    ASSIGN_CUSTOMERS = "assign_customers"
    VIEW_AUDIT = "view_audit"
    MANAGE_ORG = "manage_org"
    #: the data center's operations page: days ingested, quarantine, reconciliation breaks
    VIEW_DATACENTER = "view_datacenter"


ROLE_CAPABILITIES: dict[str, frozenset[Capability]] = {
    Role.HQ_ADMIN: frozenset(
        {
            Capability.VIEW_CUSTOMERS,
            Capability.EXPORT_CUSTOMERS,
            Capability.ASSIGN_CUSTOMERS,
            Capability.VIEW_AUDIT,
            Capability.MANAGE_ORG,
            Capability.VIEW_DATACENTER,
        }
    ),
    Role.BRANCH_MANAGER: frozenset(
        {Capability.VIEW_CUSTOMERS, Capability.EXPORT_CUSTOMERS, Capability.ASSIGN_CUSTOMERS}
    ),
    Role.TEAM_LEAD: frozenset({Capability.VIEW_CUSTOMERS, Capability.EXPORT_CUSTOMERS}),
    Role.ACCOUNT_MANAGER: frozenset(
        {Capability.VIEW_CUSTOMERS, Capability.VIEW_PII, Capability.EXPORT_CUSTOMERS}
    ),
    # researchers publish events and research; they work on securities, not on customer records
    Role.RESEARCHER: frozenset(),
    Role.COMPLIANCE: frozenset(
        {Capability.VIEW_CUSTOMERS, Capability.VIEW_PII, Capability.VIEW_AUDIT, Capability.VIEW_DATACENTER}
    ),
}


def role_can(role: str | None, capability: Capability) -> bool:
    """Whether ``role`` has ``capability``; an unknown or missing role has none."""
    return capability in ROLE_CAPABILITIES.get(role or "", frozenset())
