"""Synthetic brokerage: customers, a market and end-of-day counter exports in both styles.

``simulate()`` writes what the data center ingests (docs/COUNTERS.md): a Hundsun-style and an
Apex-style counter, one folder per trading day, plus the industry reference file. The package
imports no Django.

Modules: ``calendar`` (trading days), ``people`` (names, ID numbers, mobiles), ``market``
(securities, quotes), ``accounts`` (branches, customers, fund accounts), ``fees`` (fee
schedule), ``trading`` (the daily life of the accounts), ``writer`` (standard rows → counter
files), ``faults`` (damage and its manifest), ``core`` (``simulate``).
"""

from .core import SimulationSummary, simulate

__all__ = ["SimulationSummary", "simulate"]
