from __future__ import annotations

import re

import numpy as np

from brokercrm.simulate.people import (
    MOBILE_PREFIXES,
    credit_codes,
    id_check_digit,
    id_numbers,
    mobiles,
    person_names,
    uscc_check_digit,
)


def _gb11643(body: str) -> str:
    """Check character by the standard's definition: (12 − Σ aᵢ·2^(17−i) mod 11) mod 11."""
    total = sum(int(c) * pow(2, 17 - i, 11) for i, c in enumerate(body))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def test_check_digit_of_the_standards_examples():
    # Worked examples of GB 11643-1999.
    assert id_check_digit("11010519491231002") == "X"
    assert id_check_digit("44052418800101001") == "4"


def test_id_numbers_are_valid_unique_and_match_birth_and_gender():
    rng = np.random.default_rng(1)
    n = 20_000
    region = rng.choice([110101, 310104, 440305, 510107], n)
    birth = (
        19400101
        + rng.integers(0, 60, n) * 10000
        + rng.integers(1, 13, n) * 100
        + rng.integers(1, 29, n)
    ).astype(np.int32)
    female = rng.random(n) < 0.5
    ids = id_numbers(rng=rng, region=region, birth=birth, female=female).to_pylist()
    assert len(set(ids)) == n
    for number, r, b, f in zip(ids[:3000], region, birth, female, strict=False):
        assert re.fullmatch(r"\d{17}[\dX]", number)
        assert number[17] == _gb11643(number[:17])
        assert number[:6] == str(r) and number[6:14] == str(b)
        assert int(number[16]) % 2 == (0 if f else 1)


_USCC = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def test_credit_codes_carry_both_check_characters():
    codes = credit_codes(rng=np.random.default_rng(2), region=np.full(500, 330106)).to_pylist()
    for code in codes:
        assert len(code) == 18 and code.startswith("91330106")
        org = code[8:17]
        weights = [3, 7, 9, 10, 5, 8, 4, 2]
        c9 = (11 - sum(int(d) * w for d, w in zip(org[:8], weights, strict=True)) % 11) % 11
        assert org[8] == ("X" if c9 == 10 else str(c9))
        total = sum(_USCC.index(ch) * pow(3, i, 31) for i, ch in enumerate(code[:17]))
        assert code[17] == _USCC[(31 - total % 31) % 31] == uscc_check_digit(code[:17])


def test_mobiles_use_real_prefixes():
    numbers = mobiles(rng=np.random.default_rng(3), n=2000)
    assert ((numbers >= 13_000_000_000) & (numbers < 20_000_000_000)).all()
    assert set((numbers // 10**8).tolist()) <= set(MOBILE_PREFIXES)


def test_names_are_two_or_three_chinese_characters():
    names = person_names(rng=np.random.default_rng(4), female=np.arange(1000) % 2 == 0).to_pylist()
    assert all(re.fullmatch(r"[\u4e00-\u9fff]{2,3}", n) for n in names)
    assert all(n.encode("gbk") for n in names)
