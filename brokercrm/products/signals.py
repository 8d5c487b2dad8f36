"""Signals of the product library.

``product_terms_changed``
    Sent by :func:`brokercrm.products.services.product_update` (and so by every import that updates a
    product) after a product's *suitability terms* changed and were saved, inside the same
    transaction. The terms are the fields a suitability match reads:
    :data:`brokercrm.products.services.TERMS_FIELDS` = ``risk_level``, ``horizon``, ``variety``,
    ``required_pool``. It is not sent when a product is created, nor when only other fields
    (name, issuer, minimum amount, status, description) change.

    Keyword arguments:

    - ``sender``: the :class:`~brokercrm.products.models.Product` class;
    - ``product``: the saved product, with its new terms;
    - ``old``: ``dict`` of the four terms *before* the change, ``{field: old value}`` (all four, so a
      receiver can compare any of them with ``product``);
    - ``actor``: the user who made the change, or ``None`` for the operator's CLI.

    The suitability app connects a receiver that re-matches the customers affected and tells their
    account managers (DOMAIN.md: "When customer or product information changes, affected customers
    are re-matched and told").
"""

from django.dispatch import Signal

product_terms_changed = Signal()
