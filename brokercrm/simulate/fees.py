"""Fee schedule of ordinary A-share trades (DOMAIN.md, "Fees on ordinary A-share trades").

Every rate is an exact fraction and every fee is rounded half up to the cent on integer cents,
so fees can be recomputed exactly with ``Decimal`` by anyone checking the files.

- commission: the customer's negotiated rate (≤ 3‰), at least ¥5 per trade;
- stamp duty: 0.5‰ of a stock sale (since 2023-08-28), buys and other securities pay none;
- transfer fee (过户费): 0.01‰ of a stock trade, both sides (since 2022-04-29);
- exchange fee: handling fee 0.0341‰ (since 2023-08-28) + regulatory fee 0.02‰, both sides,
  on every exchange-traded security, rounded once on the combined 0.0541‰ as the counters do;
- other fee: ¥1 per order placed through a person (counter or phone), else 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

__all__ = ["FEES", "FeeSchedule", "TradeFees", "trade_fees"]


@dataclass(frozen=True)
class FeeSchedule:
    """Rates as exact fractions of the trade amount; minimums in cents."""

    max_commission: Fraction = Fraction(3, 1000)
    min_commission_cents: int = 500
    stamp_duty_sell: Fraction = Fraction(5, 10_000)
    transfer_fee: Fraction = Fraction(1, 100_000)
    handling_fee: Fraction = Fraction(341, 10_000_000)
    regulatory_fee: Fraction = Fraction(2, 100_000)
    manual_order_fee_cents: int = 100

    @property
    def exchange_fee(self) -> Fraction:
        return self.handling_fee + self.regulatory_fee


FEES = FeeSchedule()


@dataclass(frozen=True)
class TradeFees:
    """Fees of a batch of trades, int64 cents each."""

    commission: np.ndarray
    stamp_tax: np.ndarray
    transfer_fee: np.ndarray
    exchange_fee: np.ndarray
    other_fee: np.ndarray

    @property
    def total(self) -> np.ndarray:
        return (
            self.commission
            + self.stamp_tax
            + self.transfer_fee
            + self.exchange_fee
            + self.other_fee
        )


def _rate(amount: np.ndarray, rate: Fraction) -> np.ndarray:
    """``amount × rate`` rounded half up, for non-negative int64 cents."""
    return (amount * rate.numerator + rate.denominator // 2) // rate.denominator


def trade_fees(
    *,
    amount: np.ndarray,
    sell: np.ndarray,
    stock: np.ndarray,
    commission_ppm: np.ndarray,
    manual: np.ndarray,
    schedule: FeeSchedule = FEES,
) -> TradeFees:
    """Fees of trades of ``amount`` cents.

    Parameters
    ----------
    amount : int64 cents, quantity × price rounded to the cent.
    sell : bool, the sell side pays stamp duty on stocks.
    stock : bool, stamp duty and transfer fee apply to stocks only.
    commission_ppm : the customer's commission rate in millionths (≤ 3000).
    manual : bool, the order came through the counter or by phone.
    """
    amount = np.asarray(amount, dtype=np.int64)
    ppm = np.asarray(commission_ppm, dtype=np.int64)
    if len(ppm) and ppm.max() > int(schedule.max_commission * 1_000_000):
        raise ValueError("commission above the 3‰ cap")
    commission = np.maximum((amount * ppm + 500_000) // 1_000_000, schedule.min_commission_cents)
    stamp = np.where(sell & stock, _rate(amount, schedule.stamp_duty_sell), 0)
    transfer = np.where(stock, _rate(amount, schedule.transfer_fee), 0)
    exchange = _rate(amount, schedule.exchange_fee)
    other = np.where(manual, schedule.manual_order_fee_cents, 0).astype(np.int64)
    return TradeFees(commission, stamp, transfer, exchange, other)
