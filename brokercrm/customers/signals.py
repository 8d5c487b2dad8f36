"""Signals of the customers app.

``customer_reassigned`` is sent (synchronously, inside the transaction that made the change) when
a customer is handed to another account manager (``services.customer_assign`` and the system's
own assignments, e.g. a lead conversion). Receivers (the service app moves the customer's open
tasks and service requests to the new manager) get::

    sender           the sending function's module (``"brokercrm.customers.services"``)
    customer         the ``Customer`` (``account_manager`` already the new one)
    previous_id      the previous account manager's employee id, or ``None``
    actor            the user who reassigned, or ``None`` for the system
"""

from __future__ import annotations

from django.dispatch import Signal

customer_reassigned = Signal()
