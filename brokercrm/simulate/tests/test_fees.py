from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from brokercrm.simulate.fees import trade_fees

CENT = Decimal("0.01")


def _round(x: Decimal) -> Decimal:
    return x.quantize(CENT, ROUND_HALF_UP)


@given(
    amount=st.integers(min_value=1, max_value=10**11),
    ppm=st.integers(min_value=0, max_value=3000),
    sell=st.booleans(),
    stock=st.booleans(),
    manual=st.booleans(),
)
def test_fees_match_the_schedule_in_decimal(
    amount: int, ppm: int, sell: bool, stock: bool, manual: bool
):
    fees = trade_fees(
        amount=np.array([amount]),
        sell=np.array([sell]),
        stock=np.array([stock]),
        commission_ppm=np.array([ppm]),
        manual=np.array([manual]),
    )
    yuan = Decimal(amount) / 100
    assert Decimal(int(fees.commission[0])) / 100 == max(_round(yuan * ppm / 1_000_000), Decimal(5))
    assert Decimal(int(fees.stamp_tax[0])) / 100 == (
        _round(yuan * Decimal("0.0005")) if sell and stock else 0
    )
    assert Decimal(int(fees.transfer_fee[0])) / 100 == (
        _round(yuan * Decimal("0.00001")) if stock else 0
    )
    assert Decimal(int(fees.exchange_fee[0])) / 100 == _round(
        yuan * (Decimal("0.0000341") + Decimal("0.00002"))
    )
    assert int(fees.other_fee[0]) == (100 if manual else 0)


def test_commission_above_the_cap_is_refused():
    import pytest

    with pytest.raises(ValueError):
        trade_fees(
            amount=np.array([100]),
            sell=np.array([False]),
            stock=np.array([True]),
            commission_ppm=np.array([3001]),
            manual=np.array([False]),
        )
