"""What follows a customer to their new account manager (issue 6, "reassign tasks and customers"):
their open tasks and open service requests, the moment the customer is reassigned — on the
customer page, through the API, on the team view or by the system. Receivers only hand over to
the services."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _


def on_customer_reassigned(sender: Any, customer: Any, actor: Any = None, **kwargs: Any) -> None:
    from brokercrm.service.team import tasks_follow_customers

    tasks_follow_customers(customer_ids=[customer.pk], by=actor, reason=_("The customer was reassigned."))


def connect() -> None:
    from brokercrm.customers.signals import customer_reassigned

    customer_reassigned.connect(on_customer_reassigned, dispatch_uid="service-tasks-follow-customer")
