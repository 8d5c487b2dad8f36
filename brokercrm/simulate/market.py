"""Security master and daily quotes of a simulated A-share market.

Codes follow the real conventions (DOMAIN.md, "Security codes"): SH 600/601/603/605 main board
and 688 STAR; SZ 000/001/002/003 main board and 300/301 ChiNext; BSE 920; ETFs SH 51/56/58 and
SZ 159; LOFs SZ 16; public REITs (type ``fund``) SH 508 and SZ 180; treasury bonds SH 019;
convertibles SH 110/113/118 and SZ 123/127/128; reverse repo SH 204xxx and SZ 1318xx.

Prices are integer **mills** (0.001 yuan) so that every limit and tick is exact: stocks move in
ticks of 10 mills (0.01), funds and bonds in ticks of 1 mill. Closes are a random walk with a
market factor, clipped to each board's daily price limit (main ±10 %, STAR/ChiNext ±20 %,
BSE ±30 %, ST ±5 %), with multi-day suspensions (no quote row) and occasional cash dividends
(the ex-date's ``pre_close_price`` is the ex-dividend reference price).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from brokercrm.datacenter.dictionaries import STANDARD_CODES

__all__ = ["SHENWAN_INDUSTRIES", "Market", "build_market"]

EXCHANGES = STANDARD_CODES["exchange"]
SECURITY_TYPES = STANDARD_CODES["security_type"]
SH, SZ, BJ = (EXCHANGES.index(x) for x in ("SH", "SZ", "BJ"))
STOCK, FUND, ETF, LOF, BOND, CONVERTIBLE, REPO = (
    SECURITY_TYPES.index(x) for x in ("stock", "fund", "etf", "lof", "bond", "convertible", "repo")
)

#: Shenwan (申万) level-1 industries, 2021 classification, with the words their companies'
#: short names typically end in. The weights give the rough number of listed companies.
SHENWAN_INDUSTRIES: dict[str, tuple[int, tuple[str, ...]]] = {
    "农林牧渔": (2, ("农业", "牧业", "种业", "渔业")),
    "基础化工": (6, ("化工", "化学", "新材", "股份")),
    "钢铁": (1, ("钢铁", "特钢", "钢管")),
    "有色金属": (3, ("矿业", "铝业", "铜业", "锂业")),
    "电子": (8, ("电子", "微电", "光电", "半导")),
    "汽车": (5, ("汽车", "汽配", "科技")),
    "家用电器": (2, ("电器", "家电", "智能")),
    "食品饮料": (3, ("食品", "酒业", "乳业", "饮品")),
    "纺织服饰": (2, ("纺织", "服饰", "时尚")),
    "轻工制造": (3, ("家居", "纸业", "包装")),
    "医药生物": (8, ("医药", "药业", "生物", "医疗")),
    "公用事业": (3, ("电力", "能源", "水务", "燃气")),
    "交通运输": (3, ("物流", "航运", "高速", "港口")),
    "房地产": (2, ("地产", "置业", "发展")),
    "商贸零售": (2, ("商业", "百货", "商贸")),
    "社会服务": (1, ("旅游", "教育", "酒店")),
    "银行": (1, ("银行",)),
    "非银金融": (2, ("证券", "保险", "信托")),
    "综合": (1, ("控股", "实业")),
    "建筑材料": (2, ("建材", "水泥", "玻璃")),
    "建筑装饰": (3, ("建设", "建工", "装饰")),
    "电力设备": (6, ("电气", "新能", "电池", "光伏")),
    "机械设备": (7, ("机械", "重工", "装备", "精工")),
    "国防军工": (2, ("航空", "航天", "防务")),
    "计算机": (6, ("软件", "信息", "数据", "科技")),
    "传媒": (3, ("传媒", "文化", "影视", "互娱")),
    "通信": (2, ("通信", "网络", "光通")),
    "煤炭": (1, ("煤业", "能源")),
    "石油石化": (1, ("石化", "油服", "石油")),
    "环保": (2, ("环保", "环境", "水处理")),
    "美容护理": (1, ("美妆", "护理")),
}

_NAME_HEADS = (
    "华中天金长新海东南北恒远宏国信安盛鼎泰瑞丰富通达永利"
    "嘉明德正和兴隆光大联创博科宇航润星辰凯力佳康"
)

#: (prefix, count, exchange, limit %, board weight of customer interest)
_STOCK_BOARDS = (
    ("600", 150, SH, 10),
    ("601", 90, SH, 10),
    ("603", 110, SH, 10),
    ("605", 30, SH, 10),
    ("688", 90, SH, 20),
    ("000", 120, SZ, 10),
    ("001", 25, SZ, 10),
    ("002", 150, SZ, 10),
    ("003", 15, SZ, 10),
    ("300", 110, SZ, 20),
    ("301", 40, SZ, 20),
    ("920", 30, BJ, 30),
)

_ETF_NAMES = (
    "沪深300ETF",
    "上证50ETF",
    "中证500ETF",
    "中证1000ETF",
    "创业板ETF",
    "科创50ETF",
    "半导体ETF",
    "证券ETF",
    "医药ETF",
    "酒ETF",
    "红利ETF",
    "银行ETF",
    "军工ETF",
    "新能源ETF",
    "光伏ETF",
    "芯片ETF",
    "黄金ETF",
    "恒生ETF",
    "纳指ETF",
    "国债ETF",
    "消费ETF",
    "传媒ETF",
    "煤炭ETF",
    "有色ETF",
)
_FUND_HOUSES = (
    "华夏",
    "易方达",
    "南方",
    "嘉实",
    "广发",
    "富国",
    "华泰柏瑞",
    "国泰",
    "招商",
    "博时",
)
_REIT_NAMES = (
    "中金普洛斯REIT",
    "华夏越秀高速REIT",
    "红土盐田港REIT",
    "博时蛇口产园REIT",
    "中航首钢绿能REIT",
    "华安张江产业园REIT",
)
_LOF_STYLES = (
    "成长混合LOF",
    "价值精选LOF",
    "消费主题LOF",
    "医疗健康LOF",
    "稳健收益LOF",
    "科技创新LOF",
)


@dataclass
class Market:
    """Security master, per-security behaviour and the quote state of the current day."""

    code: pa.Array  # 6-character codes
    name: pa.Array
    exchange: np.ndarray  # int8 index into STANDARD_CODES["exchange"]
    sec_type: np.ndarray  # int8 index into STANDARD_CODES["security_type"]
    industry: list[str | None]
    limit_pct: np.ndarray  # daily limit in %, 0 = none
    tick: np.ndarray  # mills
    lot: np.ndarray  # board lot (100 shares; 10 for bonds)
    decimals: np.ndarray  # 2 for stocks, 3 otherwise
    risk: np.ndarray  # product risk R1..R5 (DOMAIN.md, suitability)
    list_day: np.ndarray  # -1 listed before the first day, else the listing day's index
    popularity: np.ndarray  # relative interest of customers
    vol: np.ndarray  # daily volatility
    beta: np.ndarray
    # --- state -----------------------------------------------------------------------------
    close: np.ndarray  # mills; latest close (for the current day, after ``step``)
    pre_close: np.ndarray  # mills; reference price of the current day, -1 = none (listing day)
    up: np.ndarray  # mills; today's limit-up price
    down: np.ndarray  # mills; today's limit-down price
    suspended: np.ndarray  # bool, current day
    listed: np.ndarray  # bool, current day
    dividend: np.ndarray  # mills per share paid to holders of the start of the current day
    _suspend_left: np.ndarray
    _day: int = -1

    @property
    def size(self) -> int:
        return len(self.exchange)

    @property
    def tradable(self) -> np.ndarray:
        """Securities customers may trade today: listed, quoted, not repo."""
        return self.listed & ~self.suspended & (self.sec_type != REPO)

    def step(self, *, rng: np.random.Generator, day: int, month: int) -> None:
        """Move to trading day index ``day``: listings, suspensions, dividends, closes."""
        assert day == self._day + 1
        self._day = day
        n = self.size
        newly_listed = self.list_day == day
        self.listed = self.list_day <= day
        stock = self.sec_type == STOCK

        # Suspensions: a stock stops for a few days now and then (no quote row meanwhile).
        start = stock & self.listed & ~newly_listed & (self._suspend_left == 0)
        start &= rng.random(n) < 0.0015
        self._suspend_left[start] = rng.geometric(0.25, start.sum())
        self.suspended = self._suspend_left > 0

        # Cash dividends go ex mostly in the June–July season.
        p_div = 0.012 if month in (6, 7) else 0.0015
        ex = stock & self.listed & ~newly_listed & ~self.suspended & (rng.random(n) < p_div)
        dps = np.maximum(np.rint(self.close * rng.uniform(0.004, 0.035, n)), 1).astype(np.int64)
        self.dividend = np.where(ex, dps, 0)

        reference = self.close - self.dividend
        reference = np.maximum((reference + self.tick // 2) // self.tick * self.tick, self.tick)
        self.pre_close = np.where(newly_listed, -1, reference)
        base = np.where(newly_listed, self.close, reference)  # listing: close holds the IPO price

        limit = self.limit_pct.astype(np.int64)
        # Limit prices are the reference price × (1 ± limit), rounded half up to the tick.
        self.up = (base * (100 + limit) + 50 * self.tick) // (100 * self.tick) * self.tick
        self.down = np.maximum(
            (base * (100 - limit) + 50 * self.tick) // (100 * self.tick) * self.tick, self.tick
        )
        no_limit = (limit == 0) | newly_listed
        self.up = np.where(no_limit, base * 3, self.up)
        self.down = np.where(no_limit, np.maximum(base // 3, self.tick), self.down)

        market = rng.normal(0.0002, 0.011)
        ret = self.beta * market + self.vol * rng.standard_normal(n)
        ret = np.where(newly_listed, rng.uniform(0.1, 1.2, n), ret)  # first-day pop of an IPO
        moved = _round_tick(np.rint(base * np.exp(ret)).astype(np.int64), self.tick)
        moved = np.clip(moved, self.down, self.up)
        repo = self.sec_type == REPO
        # A repo "price" is the annualised rate in %: it mean-reverts around 1.8.
        rate = np.clip(
            np.rint(self.close + (1800 - self.close) * 0.3 + rng.normal(0, 120, n)), 300, 9000
        )
        moved = np.where(repo, rate.astype(np.int64), moved)
        self.close = np.where(self.listed & ~self.suspended, moved, self.close)
        self._suspend_left = np.maximum(self._suspend_left - 1, 0)

    def trade_prices(self, *, rng: np.random.Generator, sec: np.ndarray) -> np.ndarray:
        """Intraday fill prices near the close, inside today's limits, on the tick grid."""
        noise = rng.normal(0.0, 0.5, len(sec)) * self.vol[sec]
        raw = np.rint(self.close[sec] * np.exp(noise)).astype(np.int64)
        return np.clip(_round_tick(raw, self.tick[sec]), self.down[sec], self.up[sec])

    def quote_rows(self) -> dict[str, object]:
        """Standard ``quotes`` columns for today: every listed security not suspended."""
        idx = np.flatnonzero(self.listed & ~self.suspended)
        return {
            "exchange": self.exchange[idx],
            "security_code": self.code.take(idx),
            "close_price": (self.close[idx], self.decimals[idx]),
            "pre_close_price": (self.pre_close[idx], self.decimals[idx]),
        }

    def master_rows(self) -> dict[str, object]:
        """Standard ``securities`` columns: the full master of listed securities."""
        idx = np.flatnonzero(self.listed)
        return {
            "exchange": self.exchange[idx],
            "security_code": self.code.take(idx),
            "name": self.name.take(idx),
            "security_type": self.sec_type[idx],
        }


def _round_tick(value: np.ndarray, tick: np.ndarray) -> np.ndarray:
    """Round half up to a multiple of ``tick`` (integers in, integers out)."""
    value = np.asarray(value, dtype=np.int64)
    tick = np.asarray(tick, dtype=np.int64)
    return (value + tick // 2) // tick * tick


def build_market(*, rng: np.random.Generator, days: int) -> Market:
    """A security master of about 1,100 securities; a stock lists every ~10 trading days."""
    rows: list[tuple[str, int, int, int, int]] = []  # code, exchange, type, limit %, risk
    industry: list[str | None] = []
    names: list[str] = []
    taken: set[str] = set()
    ind_names = list(SHENWAN_INDUSTRIES)
    ind_weights = np.array([SHENWAN_INDUSTRIES[i][0] for i in ind_names], dtype=np.float64)
    ind_weights /= ind_weights.sum()

    def stock_name(ind: str) -> str:
        words = SHENWAN_INDUSTRIES[ind][1]
        while True:
            head = (
                _NAME_HEADS[rng.integers(len(_NAME_HEADS))]
                + _NAME_HEADS[rng.integers(len(_NAME_HEADS))]
            )
            name = head + words[rng.integers(len(words))]
            if head[0] != head[1] and name not in taken:
                taken.add(name)
                return name

    def codes(prefix: str, count: int, width: int = 6) -> list[str]:
        span = 10 ** (width - len(prefix))
        picks = np.sort(rng.choice(span, size=count, replace=False))
        return [f"{prefix}{p:0{width - len(prefix)}d}" for p in picks]

    stock_ipo_pool = max(1, days // 10) if days > 1 else 0
    listed_stock_names: dict[int, list[str]] = {SH: [], SZ: []}
    board_of: list[str] = []
    for prefix, count, exchange, limit in _STOCK_BOARDS:
        for code in codes(prefix, count + (2 if prefix in ("603", "301", "688", "001") else 0)):
            ind = ind_names[rng.choice(len(ind_names), p=ind_weights)]
            name = stock_name(ind)
            st = limit == 10 and rng.random() < 0.03
            risk = 4 if (limit != 10 or st) else 3
            if st:
                name = ("*ST" if rng.random() < 0.4 else "ST") + name[:2]
            rows.append((code, exchange, STOCK, 5 if st else limit, risk))
            industry.append(ind)
            names.append(name)
            board_of.append(prefix)
            if not st and exchange in (SH, SZ):
                listed_stock_names[exchange].append(name)
    n_stock = len(rows)

    for i, code in enumerate(codes("51", 14) + codes("56", 5) + codes("58", 5)):
        rows.append((code, SH, ETF, 10, 3))
        names.append(_etf_name(i))
        industry.append(None)
    for i, code in enumerate(codes("159", 16)):
        rows.append((code, SZ, ETF, 10, 3))
        names.append(_etf_name(i + len(_ETF_NAMES)))
        industry.append(None)
    for i, code in enumerate(codes("16", 12)):
        rows.append((code, SZ, LOF, 10, 3))
        names.append(_FUND_HOUSES[i % len(_FUND_HOUSES)] + _LOF_STYLES[i % len(_LOF_STYLES)])
        industry.append(None)
    for i, code in enumerate(codes("508", 4) + codes("180", 2)):
        rows.append((code, SH if code.startswith("508") else SZ, FUND, 10, 3))
        names.append(_REIT_NAMES[i])
        industry.append(None)
    for i, code in enumerate(codes("019", 8)):
        rows.append((code, SH, BOND, 10, 1))
        names.append(f"{23 + i % 3}国债{i + 1:02d}")
        industry.append(None)
    for prefix, count, exchange in (
        ("110", 6, SH),
        ("113", 10, SH),
        ("118", 6, SH),
        ("123", 10, SZ),
        ("127", 8, SZ),
        ("128", 6, SZ),
    ):
        pool = listed_stock_names[exchange]
        for code in codes(prefix, count):
            rows.append((code, exchange, CONVERTIBLE, 20, 3))
            names.append(pool[rng.integers(len(pool))][:2] + "转债")
            industry.append(None)
    for code, name in zip(
        ("204001", "204002", "204003", "204004", "204007", "204014", "204028", "204091", "204182"),
        ("GC001", "GC002", "GC003", "GC004", "GC007", "GC014", "GC028", "GC091", "GC182"),
        strict=True,
    ):
        rows.append((code, SH, REPO, 0, 1))
        names.append(name)
        industry.append(None)
    for code, name in zip(
        ("131810", "131811", "131800", "131809", "131801", "131802", "131803", "131805", "131806"),
        ("R-001", "R-002", "R-003", "R-004", "R-007", "R-014", "R-028", "R-091", "R-182"),
        strict=True,
    ):
        rows.append((code, SZ, REPO, 0, 1))
        names.append(name)
        industry.append(None)

    n = len(rows)
    exchange = np.array([r[1] for r in rows], dtype=np.int8)
    sec_type = np.array([r[2] for r in rows], dtype=np.int8)
    limit_pct = np.array([r[3] for r in rows], dtype=np.int16)
    risk = np.array([r[4] for r in rows], dtype=np.int8)
    code = [r[0] for r in rows]

    # New listings during the run: some of the stocks drawn above start unlisted.
    list_day = np.full(n, -1, dtype=np.int32)
    if stock_ipo_pool:
        ipo = rng.choice(n_stock, size=min(stock_ipo_pool, n_stock // 10), replace=False)
        list_day[ipo] = rng.integers(1, days, len(ipo))

    is_stock = sec_type == STOCK
    tick = np.where(is_stock, 10, 1).astype(np.int64)
    lot = np.where((sec_type == BOND) | (sec_type == CONVERTIBLE), 10, 100).astype(np.int64)
    decimals = np.where(is_stock, 2, 3).astype(np.int8)

    star_like = is_stock & (limit_pct >= 20)
    price_yuan = np.where(
        is_stock,
        np.exp(rng.normal(np.where(star_like, 3.4, 2.6), 0.75, n)),
        0.0,
    )
    price_yuan = np.where(is_stock, np.clip(price_yuan, 1.5, 600), price_yuan)
    price_yuan = np.where(
        (sec_type == ETF) | (sec_type == LOF), rng.uniform(0.6, 5.0, n), price_yuan
    )
    price_yuan = np.where(sec_type == FUND, rng.uniform(2.5, 9.0, n), price_yuan)
    price_yuan = np.where(sec_type == BOND, rng.uniform(98, 106, n), price_yuan)
    price_yuan = np.where(sec_type == CONVERTIBLE, rng.uniform(100, 190, n), price_yuan)
    price_yuan = np.where(sec_type == REPO, rng.uniform(1.4, 2.4, n), price_yuan)
    close = _round_tick(np.rint(price_yuan * 1000).astype(np.int64), tick)

    vol = np.select(
        [
            is_stock & star_like,
            is_stock,
            sec_type == ETF,
            sec_type == LOF,
            sec_type == FUND,
            sec_type == CONVERTIBLE,
            sec_type == BOND,
        ],
        [0.032, 0.022, 0.012, 0.010, 0.008, 0.013, 0.0015],
        0.0,
    ) * rng.uniform(0.7, 1.3, n)
    beta = np.select(
        [is_stock, sec_type == ETF, sec_type == LOF, sec_type == CONVERTIBLE, sec_type == FUND],
        [rng.uniform(0.6, 1.4, n), rng.uniform(0.7, 1.1, n), 0.8, 0.5, 0.2],
        0.0,
    )
    # Interest concentrates on a few names (Zipf over a random order), more on stocks and ETFs.
    rank = rng.permutation(n) + 1
    popularity = rank.astype(np.float64) ** -0.8
    popularity *= np.select([is_stock, sec_type == ETF, sec_type == BOND], [1.0, 1.5, 0.6], 0.5)
    popularity[sec_type == REPO] = 0.0

    return Market(
        code=pa.array(code, pa.string()),
        name=pa.array(names, pa.string()),
        exchange=exchange,
        sec_type=sec_type,
        industry=industry,
        limit_pct=limit_pct,
        tick=tick,
        lot=lot,
        decimals=decimals,
        risk=risk,
        list_day=list_day,
        popularity=popularity,
        vol=vol,
        beta=beta,
        close=close,
        pre_close=close.copy(),
        up=close.copy(),
        down=close.copy(),
        suspended=np.zeros(n, dtype=bool),
        listed=list_day < 0,
        dividend=np.zeros(n, dtype=np.int64),
        _suspend_left=np.zeros(n, dtype=np.int64),
    )


def _etf_name(i: int) -> str:
    base = _ETF_NAMES[i % len(_ETF_NAMES)]
    return base if i < len(_ETF_NAMES) else base + _FUND_HOUSES[i % len(_FUND_HOUSES)]
