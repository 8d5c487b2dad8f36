"""Choices of the customer app; codes are the standard values of COUNTERS.md."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CustomerType(models.TextChoices):
    INDIVIDUAL = "individual", _("Individual")
    INSTITUTION = "institution", _("Institution")
    PRODUCT = "product", _("Product")


class CustomerStatus(models.TextChoices):
    NORMAL = "normal", _("Normal")
    FROZEN = "frozen", _("Frozen")
    LOST = "lost", _("Lost")
    CLOSED = "closed", _("Closed")


class IdType(models.TextChoices):
    ID_CARD = "id_card", _("ID card")
    PASSPORT = "passport", _("Passport")
    BUSINESS_LICENCE = "business_licence", _("Business licence")


class Gender(models.TextChoices):
    MALE = "male", _("Male")
    FEMALE = "female", _("Female")


class RiskLevel(models.TextChoices):
    """Risk tolerance from the questionnaire (DOMAIN.md); C0 is the lowest category within C1."""

    C0 = "C0", _("C1 (lowest category)")
    C1 = "C1", _("C1 conservative")
    C2 = "C2", _("C2 cautious")
    C3 = "C3", _("C3 balanced")
    C4 = "C4", _("C4 active")
    C5 = "C5", _("C5 aggressive")


class InvestorClass(models.TextChoices):
    ORDINARY = "ordinary", _("Ordinary investor")
    PROFESSIONAL_I = "professional_i", _("Professional investor (I)")
    PROFESSIONAL_II = "professional_ii", _("Professional investor (II)")
    PROFESSIONAL_III = "professional_iii", _("Professional investor (III)")


class InvestHorizon(models.TextChoices):
    SHORT = "short", _("0–1 years")
    MEDIUM = "medium", _("1–5 years")
    LONG = "long", _("5+ years")


class AmlLevel(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


class AccountType(models.TextChoices):
    NORMAL = "normal", _("Normal")
    CREDIT = "credit", _("Credit (margin)")


class InvestVariety(models.TextChoices):
    """Investment varieties a customer chose and a product belongs to (COUNTERS.md, DOMAIN.md)."""

    FIXED_INCOME = "fixed_income", _("Fixed income")
    EQUITY = "equity", _("Equity")
    DERIVATIVES = "derivatives", _("Derivatives / margin")
    COMPLEX = "complex", _("Complex")
    OTHER = "other", _("Other")


class Pool(models.TextChoices):
    """Qualified customer pools (DOMAIN.md, "Qualified customer pools"); the pipeline's
    ``datacenter.pipeline.POOLS`` holds the same codes."""

    MARGIN = "margin", _("Margin trading")
    CHINEXT = "chinext", _("ChiNext")
    STAR = "star", _("STAR Market")
    BSE = "bse", _("Beijing Stock Exchange")
    HK_CONNECT = "hk_connect", _("Stock Connect")
    OPTIONS = "options", _("Stock options")


class PoolReason(models.TextChoices):
    """Why a customer is not in a pool; every failed reason is listed (DOMAIN.md)."""

    ASSETS = "assets", _("Average assets below the threshold")
    EXPERIENCE = "experience", _("Not enough trading experience")
    ACCOUNT_AGE = "account_age", _("Account not open long enough")
    RISK_LEVEL = "risk_level", _("Risk level too low")
    KNOWLEDGE_TEST = "knowledge_test", _("No passed knowledge test")
    STATUS = "status", _("Customer status")
    INSUFFICIENT_HISTORY = "insufficient_history", _("Fewer than 20 trading days of history")


class RelationshipKind(models.TextChoices):
    """How the related party stands to the customer: "<related> is the customer's <kind>"."""

    SPOUSE = "spouse", _("Spouse")
    PARENT = "parent", _("Parent")
    CHILD = "child", _("Child")
    SIBLING = "sibling", _("Sibling")
    RELATIVE = "relative", _("Relative")
    #: the related customer referred this customer (referral attribution)
    REFERRER = "referrer", _("Referrer")
    COLLEAGUE = "colleague", _("Colleague")
    OTHER = "other", _("Other")


#: the label of a relationship read from the related customer's side ("<customer> is my …")
RELATIONSHIP_INVERSE_LABELS = {
    RelationshipKind.SPOUSE: _("Spouse"),
    RelationshipKind.PARENT: _("Child"),
    RelationshipKind.CHILD: _("Parent"),
    RelationshipKind.SIBLING: _("Sibling"),
    RelationshipKind.RELATIVE: _("Relative"),
    RelationshipKind.REFERRER: _("Referred customer"),
    RelationshipKind.COLLEAGUE: _("Colleague"),
    RelationshipKind.OTHER: _("Other"),
}


class InteractionKind(models.TextChoices):
    NOTE = "note", _("Note")
    CALL = "call", _("Call")
    MEETING = "meeting", _("Meeting")
    SMS = "sms", _("SMS")
    WECHAT = "wechat", _("WeChat")
    EMAIL = "email", _("Email")
    VISIT = "visit", _("Visit")


class LeadSource(models.TextChoices):
    REFERRAL = "referral", _("Referral")
    EVENT = "event", _("Event")
    ONLINE = "online", _("Online")
    WALK_IN = "walk_in", _("Walk-in")
    CAMPAIGN = "campaign", _("Campaign")
    OTHER = "other", _("Other")


class LeadStatus(models.TextChoices):
    """A potential customer's progress; ``converted`` is set only by the conversion on publish."""

    NEW = "new", _("New")
    CONTACTED = "contacted", _("Contacted")
    QUALIFIED = "qualified", _("Qualified")
    CONVERTED = "converted", _("Converted")
    LOST = "lost", _("Lost lead")
