"""Choices of proactive service (DOMAIN.md glossary: proactive service 优先主动服务, follow-up
visit 回访; "Service system")."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Direction(models.TextChoices):
    """Which way a market event moves the affected securities."""

    POSITIVE = "positive", _("Positive")
    NEGATIVE = "negative", _("Negative")
    NEUTRAL = "neutral", _("Neutral")


class RiskGroup(models.TextChoices):
    """The groups an event's suggestion is written for: ordinary investors by risk level
    (C1–C2, C3, C4–C5) and professional investors (whatever their questionnaire said)."""

    C1_C2 = "c1_c2", _("C1–C2")
    C3 = "c3", _("C3")
    C4_C5 = "c4_c5", _("C4–C5")
    PROFESSIONAL = "professional", _("Professional investors")


class Priority(models.TextChoices):
    HIGH = "high", _("High")
    MEDIUM = "medium", _("Medium")
    LOW = "low", _("Low")


#: sort order of priorities: high first
PRIORITY_ORDER = {Priority.HIGH: 0, Priority.MEDIUM: 1, Priority.LOW: 2}


class TaskKind(models.TextChoices):
    """What a task is about. ``event`` and ``follow_up`` are created by this app's services; the
    data-driven kinds are raised from published data (each with its dedup key), the service
    request and complaint kinds by the service desk."""

    EVENT = "event", _("Market event")
    FOLLOW_UP = "follow_up", _("Follow-up visit")
    LARGE_WITHDRAWAL = "large_withdrawal", _("Large withdrawal")
    MARGIN_CALL = "margin_call", _("Margin call")
    LIMIT_DOWN = "limit_down", _("Limit-down holding")
    ASSESSMENT_EXPIRING = "assessment_expiring", _("Risk assessment expiring")
    AML_REVIEW = "aml_review", _("AML review due")
    DORMANT = "dormant", _("Dormant customer")
    TIER_CHANGE = "tier_change", _("Tier change")
    BIRTHDAY = "birthday", _("Birthday")
    SERVICE_REQUEST = "service_request", _("Service request")
    COMPLAINT = "complaint", _("Complaint")


class TaskStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class VisitChannel(models.TextChoices):
    """How the account manager reached the customer (issue 6: phone, SMS, WeChat, meeting, e-mail)."""

    PHONE = "phone", _("Phone")
    SMS = "sms", _("SMS")
    WECHAT = "wechat", _("WeChat")
    MEETING = "meeting", _("Meeting")
    EMAIL = "email", _("Email")


#: the timeline entry (``customers.choices.InteractionKind``) a visit of each channel becomes
CHANNEL_INTERACTION_KIND = {
    VisitChannel.PHONE: "call",
    VisitChannel.SMS: "sms",
    VisitChannel.WECHAT: "wechat",
    VisitChannel.MEETING: "meeting",
    VisitChannel.EMAIL: "email",
}


class VisitOutcome(models.TextChoices):
    REACHED = "reached", _("Reached and informed")
    NO_ANSWER = "no_answer", _("Not reached")
    CALL_BACK = "call_back", _("Asked to be contacted again")
    DECLINED = "declined", _("Not interested")
    RESOLVED = "resolved", _("Resolved")


class RequestKind(models.TextChoices):
    """What a customer brought to the service desk (issue 6: service requests and complaints)."""

    REQUEST = "request", _("Service request")
    COMPLAINT = "complaint", _("Complaint")


class RequestChannel(models.TextChoices):
    """How the request or complaint reached the firm."""

    PHONE = "phone", _("Phone")
    BRANCH = "branch", _("At the branch")
    WECHAT = "wechat", _("WeChat")
    EMAIL = "email", _("Email")
    APP = "app", _("App or website")
    LETTER = "letter", _("Letter")
    REGULATOR = "regulator", _("Forwarded by a regulator")


class RequestStatus(models.TextChoices):
    """new → in progress → resolved → closed; a resolved or closed one may be reopened (back to in progress)."""

    NEW = "new", _("New")
    IN_PROGRESS = "in_progress", _("In progress")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


#: the statuses a request may move to from each status (reopen: resolved/closed → in progress)
REQUEST_TRANSITIONS: dict[str, tuple[str, ...]] = {
    RequestStatus.NEW: (RequestStatus.IN_PROGRESS, RequestStatus.RESOLVED),
    RequestStatus.IN_PROGRESS: (RequestStatus.RESOLVED,),
    RequestStatus.RESOLVED: (RequestStatus.CLOSED, RequestStatus.IN_PROGRESS),
    RequestStatus.CLOSED: (RequestStatus.IN_PROGRESS,),
}
#: statuses in which the request still needs work (its deadline applies)
REQUEST_OPEN_STATUSES = (RequestStatus.NEW, RequestStatus.IN_PROGRESS)
