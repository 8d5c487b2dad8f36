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
    #: browse the product library and a product's matching customers (within the data scope)
    VIEW_PRODUCTS = "view_products"
    #: create, edit, import products; edit the risk questionnaire (head office)
    MANAGE_PRODUCTS = "manage_products"
    MANAGE_QUESTIONNAIRE = "manage_questionnaire"
    #: take a risk assessment / knowledge test with the customer; record a sale after suitability
    ASSESS_RISK = "assess_risk"
    SELL_PRODUCTS = "sell_products"
    #: decide a professional-investor recognition or conversion (the firm decides, DOMAIN.md)
    RECOGNISE_PROFESSIONAL = "recognise_professional"
    #: search every suitability decision and its inputs (compliance)
    VIEW_SUITABILITY_RECORDS = "view_suitability_records"
    #: qualified-pool lists with reasons
    VIEW_POOLS = "view_pools"
    #: add notes, calls, meetings to a customer's timeline; record relationships
    ADD_INTERACTIONS = "add_interactions"
    #: potential customers (leads): create, assign, work
    MANAGE_LEADS = "manage_leads"
    #: tier thresholds and points multipliers, tags and segmentation rules (head office)
    MANAGE_SEGMENTS = "manage_segments"
    #: record market events and turn their impact lists into account managers' tasks (researchers, head office)
    MANAGE_EVENTS = "manage_events"
    #: see tasks per person of the team or branch, reassign tasks (team leads, branch managers, head office)
    MANAGE_TASKS = "manage_tasks"


ROLE_CAPABILITIES: dict[str, frozenset[Capability]] = {
    Role.HQ_ADMIN: frozenset(
        {
            Capability.VIEW_CUSTOMERS,
            Capability.EXPORT_CUSTOMERS,
            Capability.ASSIGN_CUSTOMERS,
            Capability.VIEW_AUDIT,
            Capability.MANAGE_ORG,
            Capability.VIEW_DATACENTER,
            Capability.VIEW_PRODUCTS,
            Capability.MANAGE_PRODUCTS,
            Capability.MANAGE_QUESTIONNAIRE,
            Capability.RECOGNISE_PROFESSIONAL,
            Capability.VIEW_SUITABILITY_RECORDS,
            Capability.VIEW_POOLS,
            Capability.MANAGE_SEGMENTS,
            Capability.MANAGE_EVENTS,
            Capability.MANAGE_TASKS,
        }
    ),
    Role.BRANCH_MANAGER: frozenset(
        {
            Capability.VIEW_CUSTOMERS,
            Capability.EXPORT_CUSTOMERS,
            Capability.ASSIGN_CUSTOMERS,
            Capability.VIEW_PRODUCTS,
            Capability.RECOGNISE_PROFESSIONAL,
            Capability.VIEW_POOLS,
            Capability.ADD_INTERACTIONS,
            Capability.MANAGE_LEADS,
            Capability.MANAGE_TASKS,
        }
    ),
    Role.TEAM_LEAD: frozenset(
        {
            Capability.VIEW_CUSTOMERS,
            Capability.EXPORT_CUSTOMERS,
            # within the team (``customers.services.customer_assign``)
            Capability.ASSIGN_CUSTOMERS,
            Capability.VIEW_PRODUCTS,
            Capability.VIEW_POOLS,
            Capability.ADD_INTERACTIONS,
            Capability.MANAGE_LEADS,
            Capability.MANAGE_TASKS,
        }
    ),
    Role.ACCOUNT_MANAGER: frozenset(
        {
            Capability.VIEW_CUSTOMERS,
            Capability.VIEW_PII,
            Capability.EXPORT_CUSTOMERS,
            Capability.VIEW_PRODUCTS,
            Capability.ASSESS_RISK,
            Capability.SELL_PRODUCTS,
            Capability.VIEW_POOLS,
            Capability.ADD_INTERACTIONS,
            Capability.MANAGE_LEADS,
        }
    ),
    # researchers publish events and research; they work on securities and products, not on
    # customer records
    Role.RESEARCHER: frozenset({Capability.VIEW_PRODUCTS, Capability.MANAGE_EVENTS}),
    Role.COMPLIANCE: frozenset(
        {
            Capability.VIEW_CUSTOMERS,
            Capability.VIEW_PII,
            Capability.VIEW_AUDIT,
            Capability.VIEW_DATACENTER,
            Capability.VIEW_PRODUCTS,
            Capability.VIEW_SUITABILITY_RECORDS,
            Capability.VIEW_POOLS,
        }
    ),
}


def role_can(role: str | None, capability: Capability) -> bool:
    """Whether ``role`` has ``capability``; an unknown or missing role has none."""
    return capability in ROLE_CAPABILITIES.get(role or "", frozenset())
