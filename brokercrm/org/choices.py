"""Choices of the organisation app (DESIGN.md, "Who uses it")."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class NodeKind(models.TextChoices):
    """Levels of the organisation tree: HQ ⊃ region ⊃ branch ⊃ team."""

    HQ = "hq", _("Head office")
    REGION = "region", _("Region")
    BRANCH = "branch", _("Branch")
    TEAM = "team", _("Team")


#: which kind of node may sit under which
NODE_PARENT_KIND = {
    NodeKind.HQ: None,
    NodeKind.REGION: NodeKind.HQ,
    NodeKind.BRANCH: NodeKind.REGION,
    NodeKind.TEAM: NodeKind.BRANCH,
}


class Role(models.TextChoices):
    """An employee's role; what it allows is declared in ``org.policy``."""

    HQ_ADMIN = "hq_admin", _("HQ admin")
    BRANCH_MANAGER = "branch_manager", _("Branch manager")
    TEAM_LEAD = "team_lead", _("Team lead")
    ACCOUNT_MANAGER = "account_manager", _("Account manager")
    RESEARCHER = "researcher", _("Researcher")
    COMPLIANCE = "compliance", _("Compliance")


class AuditAction(models.TextChoices):
    """What an audit entry records."""

    LOGIN = "login", _("Logged in")
    LOGIN_FAILED = "login_failed", _("Login failed")
    LOGOUT = "logout", _("Logged out")
    CUSTOMER_LIST = "customer_list", _("Viewed a customer list")
    CUSTOMER_VIEW = "customer_view", _("Viewed a customer")
    CUSTOMER_EXPORT = "customer_export", _("Exported customers")
    CUSTOMER_ASSIGN = "customer_assign", _("Reassigned a customer")
    AUDIT_SEARCH = "audit_search", _("Searched the audit log")
    TOKEN_CREATE = "token_create", _("Created an API token")
    USER_CREATE = "user_create", _("Created a user")
    PRODUCT_CREATE = "product_create", _("Created a product")
    PRODUCT_UPDATE = "product_update", _("Changed a product")
    PRODUCT_IMPORT = "product_import", _("Imported products")
    TAG_CREATE = "tag_create", _("Created a tag")
    TAG_UPDATE = "tag_update", _("Changed a tag")
    TASK_REASSIGN = "task_reassign", _("Reassigned a task")
    SERVICE_REQUEST_CREATE = "service_request_create", _("Recorded a service request or complaint")
    SERVICE_REQUEST_UPDATE = "service_request_update", _("Changed a service request's status")
    SERVICE_POLICY_UPDATE = "service_policy_update", _("Changed the service thresholds")
    EVENT_CREATE = "event_create", _("Recorded a market event")
    EVENT_TASKS = "event_tasks", _("Turned a market event into tasks")
    RISK_ASSESS = "risk_assess", _("Recorded a risk assessment")
    RECOGNITION_REQUEST = "recognition_request", _("Requested a professional-investor recognition")
    RECOGNITION_DECIDE = "recognition_decide", _("Decided a professional-investor recognition")
    KNOWLEDGE_TEST = "knowledge_test", _("Recorded a knowledge test")
