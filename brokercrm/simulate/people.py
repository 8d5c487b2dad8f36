"""Plausible Chinese identities: names, ID numbers, credit codes and mobile numbers.

Everything is vectorised over numpy arrays and returns pyarrow string arrays, because the
simulator builds a million customers in one go. Every character used is in GB 2312, so the
GBK-encoded Apex files can carry them.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "REGIONS",
    "credit_codes",
    "id_check_digit",
    "id_numbers",
    "institution_names",
    "mobiles",
    "passport_numbers",
    "person_names",
    "product_names",
    "uscc_check_digit",
]

# --- administrative division codes (GB/T 2260), grouped by the province of a branch region ---

#: region name → real district codes in it; the simulator's branch regions are keys here.
REGIONS: dict[str, tuple[str, ...]] = {
    "北京": ("110101", "110102", "110105", "110106", "110108", "110112", "110114"),
    "上海": ("310101", "310104", "310105", "310106", "310110", "310112", "310115"),
    "广东": ("440103", "440104", "440106", "440111", "440303", "440304", "440305", "440604"),
    "江苏": ("320102", "320104", "320106", "320205", "320505", "320583", "320602"),
    "浙江": ("330102", "330105", "330106", "330108", "330203", "330302", "330402"),
    "四川": ("510104", "510105", "510106", "510107", "510108", "510112", "510703"),
    "湖北": ("420102", "420103", "420106", "420111", "420502", "420602"),
    "山东": ("370102", "370103", "370202", "370203", "370602", "370702"),
}

#: District codes of provinces with no branch: customers who moved to a branch's city.
OTHER_REGIONS: tuple[str, ...] = (
    "120101",
    "130102",
    "130202",
    "140105",
    "150102",
    "210102",
    "210202",
    "220102",
    "230102",
    "340102",
    "350102",
    "350203",
    "360102",
    "410102",
    "410105",
    "430102",
    "430104",
    "450103",
    "460105",
    "500103",
    "500106",
    "520102",
    "530102",
    "610103",
    "610113",
    "620102",
    "640104",
    "650102",
)

# --- names ----------------------------------------------------------------------------------------

#: The most common surnames, roughly in order of frequency (weights fall with rank).
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任"
    "沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
MALE_GIVEN = (
    "伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆"
    "帅旭宁龙林欢阳建国峰志坤晨亮成东海文博立新永庆德"
)
FEMALE_GIVEN = (
    "芳娜敏静丽艳娟霞秀燕玲桂英红梅琳雪婷颖倩洁慧晶莉萍红琴云莹丹璐欣怡佳悦雯蕾薇菲蓉月彤瑶嘉露凤兰"
)
NEUTRAL_GIVEN = "文晓子雨思佳一俊海春秋小天嘉梓家明永安信宏"

_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_ID_CHECK = "10X98765432"


def _chars(text: str) -> pa.Array:
    return pa.array(list(text), pa.string())


def person_names(*, rng: np.random.Generator, female: np.ndarray) -> pa.Array:
    """Surname plus a one- or two-character given name suited to the gender."""
    n = len(female)
    surnames = _chars(SURNAMES)
    rank = np.arange(1, len(SURNAMES) + 1, dtype=np.float64)
    weights = rank**-0.9
    surname_idx = rng.choice(len(SURNAMES), size=n, p=weights / weights.sum())
    male, fem, neutral = _chars(MALE_GIVEN), _chars(FEMALE_GIVEN), _chars(NEUTRAL_GIVEN)
    pool = pa.concat_arrays([male, fem, neutral])
    first_gendered = np.where(
        female, len(male) + rng.integers(0, len(fem), n), rng.integers(0, len(male), n)
    )
    # A two-character name often starts with a neutral character (晓, 子 …) and ends gendered.
    neutral_first = len(male) + len(fem) + rng.integers(0, len(neutral), n)
    two_chars = rng.random(n) < 0.75
    first = np.where(two_chars & (rng.random(n) < 0.5), neutral_first, first_gendered)
    second = np.where(
        female, len(male) + rng.integers(0, len(fem), n), rng.integers(0, len(male), n)
    )
    empty = pa.array([""] * 1, pa.string())
    second_str = pc.if_else(
        pa.array(two_chars), pool.take(second), empty.take(np.zeros(n, np.int64))
    )
    return pc.binary_join_element_wise(surnames.take(surname_idx), pool.take(first), second_str, "")


_CITY_PREFIX = (
    "北京",
    "上海",
    "深圳",
    "广州",
    "杭州",
    "南京",
    "苏州",
    "成都",
    "武汉",
    "青岛",
    "宁波",
    "济南",
)
_BRAND = (
    "华盛",
    "恒信",
    "中汇",
    "鼎泰",
    "宏远",
    "瑞丰",
    "国泰",
    "金元",
    "长青",
    "东方",
    "天润",
    "嘉禾",
    "明德",
    "富安",
    "正和",
    "博远",
    "盈科",
    "宝丰",
    "汇金",
    "安泰",
    "同创",
    "新华",
    "中瑞",
    "佳泰",
)
_INST_KIND = ("投资", "投资管理", "资产管理", "实业", "科技", "贸易", "控股", "创业投资")
_INST_SUFFIX = ("有限公司", "股份有限公司", "集团有限公司")
_PRODUCT_STYLE = ("稳健", "成长", "价值", "量化", "精选", "红利", "多策略", "安享", "睿远", "恒利")
_PRODUCT_KIND = ("私募证券投资基金", "集合资产管理计划", "单一资产管理计划")


def _pick(rng: np.random.Generator, words: tuple[str, ...], n: int) -> pa.Array:
    return pa.array(words, pa.string()).take(rng.integers(0, len(words), n))


def institution_names(*, rng: np.random.Generator, n: int) -> pa.Array:
    """Company names such as 深圳华盛投资管理有限公司."""
    return pc.binary_join_element_wise(
        _pick(rng, _CITY_PREFIX, n),
        _pick(rng, _BRAND, n),
        _pick(rng, _INST_KIND, n),
        _pick(rng, _INST_SUFFIX, n),
        "",
    )


def product_names(*, rng: np.random.Generator, n: int) -> pa.Array:
    """Asset-management product names such as 恒信量化3号私募证券投资基金."""
    number = pa.array(rng.integers(1, 60, n)).cast(pa.string())
    return pc.binary_join_element_wise(
        _pick(rng, _BRAND, n),
        _pick(rng, _PRODUCT_STYLE, n),
        number,
        pa.array(["号"] * n, pa.string()),
        _pick(rng, _PRODUCT_KIND, n),
        "",
    )


# --- identity numbers -----------------------------------------------------------------------------


def id_check_digit(body: str) -> str:
    """GB 11643-1999 check character of the first 17 digits of a resident ID number."""
    total = sum(int(c) * int(w) for c, w in zip(body, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def _weighted_digit_sum(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Σ digit × weight over the decimal digits of ``values`` (weights most significant first)."""
    rest = values.astype(np.int64).copy()
    total = np.zeros(len(rest), np.int64)
    for w in weights[::-1]:
        rest, digit = np.divmod(rest, 10)
        total += digit * w
    return total


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """Decimal digits of non-negative integers, most significant first, shape (n, width)."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (values[:, None] // powers[None, :]) % 10


def id_numbers(
    *, rng: np.random.Generator, region: np.ndarray, birth: np.ndarray, female: np.ndarray
) -> pa.Array:
    """18-character resident ID numbers, unique, with a valid GB 11643 check character.

    Parameters
    ----------
    region : int64 district codes (6 digits, e.g. 110101).
    birth : int32 birth dates as YYYYMMDD, the same as the customers' ``birth_date``.
    female : bool; the sequence number's last digit is odd for men and even for women.
    """
    n = len(region)
    seq = rng.integers(0, 500, n) * 2 + np.where(female, 0, 1)
    body = region.astype(np.int64) * 10**11 + birth.astype(np.int64) * 1000 + seq
    # People born on the same day in the same district share 500 sequence numbers per gender;
    # at a million customers a few collide, so re-draw the sequence of the later duplicates.
    for attempt in range(51):
        _, first = np.unique(body, return_index=True)
        dup = np.ones(n, dtype=bool)
        dup[first] = False
        if not dup.any():
            break
        if attempt == 50:
            raise RuntimeError("too many people share a district and birth date to number them")
        body[dup] = (
            body[dup]
            - body[dup] % 1000
            + rng.integers(0, 500, dup.sum()) * 2
            + np.where(female[dup], 0, 1)
        )
    check = _weighted_digit_sum(body, _ID_WEIGHTS) % 11
    check_chars = pa.array(list(_ID_CHECK), pa.string()).take(check)
    return pc.binary_join_element_wise(pa.array(body).cast(pa.string()), check_chars, "")


def passport_numbers(*, rng: np.random.Generator, n: int) -> pa.Array:
    """Chinese e-passport numbers: ``E`` and eight digits."""
    body = pa.array(rng.integers(10_000_000, 100_000_000, n)).cast(pa.string())
    return pc.binary_join_element_wise(pa.array(["E"] * n, pa.string()), body, "")


_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = np.array([pow(3, i, 31) for i in range(17)], dtype=np.int64)
_ORG_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)


def uscc_check_digit(body: str) -> str:
    """GB 32100-2015 check character of the first 17 characters of a unified credit code."""
    total = sum(_USCC_CHARS.index(c) * int(w) for c, w in zip(body, _USCC_WEIGHTS, strict=True))
    return _USCC_CHARS[(31 - total % 31) % 31]


def credit_codes(*, rng: np.random.Generator, region: np.ndarray) -> pa.Array:
    """Unified social credit codes (统一社会信用代码) of enterprises, with valid check characters.

    Layout: ``9`` (registered with market regulation) ``1`` (enterprise), the 6-digit district
    code, a 9-character organisation code (8 digits + GB 11714 check) and the GB 32100 check.
    """
    n = len(region)
    org = rng.choice(90_000_000, size=n, replace=False) + 10_000_000 if n else np.zeros(0, np.int64)
    org_digits = _digits(org.astype(np.int64), 8)
    org_check = (11 - (org_digits * _ORG_WEIGHTS).sum(axis=1) % 11) % 11  # 10 → X
    # values 0..33 of the 18 positions; letters use their index in _USCC_CHARS
    vals = np.empty((n, 17), dtype=np.int64)
    vals[:, 0] = 9
    vals[:, 1] = 1
    vals[:, 2:8] = _digits(region.astype(np.int64), 6)
    vals[:, 8:16] = org_digits
    vals[:, 16] = np.where(org_check == 10, _USCC_CHARS.index("X"), org_check)
    check = (31 - (vals * _USCC_WEIGHTS).sum(axis=1) % 31) % 31
    chars = pa.array(list(_USCC_CHARS), pa.string())
    parts = [chars.take(vals[:, i]) for i in range(17)] + [chars.take(check)]
    return pc.binary_join_element_wise(*parts, "")


# --- mobiles --------------------------------------------------------------------------------------

#: Mobile number prefixes in use (China Mobile, Unicom, Telecom, Broadnet).
MOBILE_PREFIXES = (
    130,
    131,
    132,
    133,
    134,
    135,
    136,
    137,
    138,
    139,
    145,
    147,
    150,
    151,
    152,
    153,
    155,
    156,
    157,
    158,
    159,
    166,
    171,
    173,
    175,
    176,
    177,
    178,
    180,
    181,
    182,
    183,
    184,
    185,
    186,
    187,
    188,
    189,
    191,
    193,
    195,
    198,
    199,
)


def mobiles(*, rng: np.random.Generator, n: int) -> np.ndarray:
    """11-digit mobile numbers as int64 (``1[3-9]x`` prefix and eight random digits)."""
    prefix = np.array(MOBILE_PREFIXES, dtype=np.int64)[rng.integers(0, len(MOBILE_PREFIXES), n)]
    return prefix * 10**8 + rng.integers(0, 10**8, n)
