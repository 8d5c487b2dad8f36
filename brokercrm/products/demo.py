"""A deterministic demo product library: about a thousand products of every type and risk level,
with realistic Chinese names, issuers, minimum amounts and terms that fit the product (money funds
R1 short fixed income, equity funds R3/R4, snowballs R5 complex, STAR/ChiNext/margin services
behind their qualified pools …); about 10% closed."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Callable

from django.db import transaction

from brokercrm.products.models import Product

FUND_COMPANIES = (
    "华夏基金", "易方达基金", "南方基金", "广发基金", "嘉实基金", "博时基金", "富国基金", "汇添富基金",
    "招商基金", "工银瑞信基金", "鹏华基金", "天弘基金", "中欧基金", "景顺长城基金", "兴证全球基金",
    "交银施罗德基金", "银华基金", "国泰基金", "华安基金", "大成基金",
)
ASSET_MANAGERS = (
    "广发证券资管", "中信证券资管", "华泰证券资管", "国泰君安资管", "招商证券资管", "东方证券资管",
    "海通证券资管", "光大证券资管", "兴证证券资管", "财通证券资管",
)
BROKERS = ("中信证券", "华泰证券", "中金公司", "国泰君安", "招商证券", "广发证券", "申万宏源", "银河证券")
BANK_WEALTH = ("招银理财", "工银理财", "建信理财", "中银理财", "交银理财", "兴银理财", "农银理财", "光大理财")
TRUSTS = ("中信信托", "平安信托", "华润信托", "外贸信托", "建信信托", "五矿信托")
BOND_ISSUERS = (
    ("国开", "国家开发银行", "R1"), ("进出", "中国进出口银行", "R1"), ("农发", "中国农业发展银行", "R1"),
    ("铁道", "中国国家铁路集团", "R2"), ("国网", "国家电网", "R2"), ("招商局", "招商局集团", "R2"),
    ("中建", "中国建筑", "R2"), ("华能", "中国华能集团", "R2"), ("万科", "万科企业", "R3"),
    ("保利", "保利发展", "R2"), ("三峡", "中国长江三峡集团", "R2"), ("中交", "中国交通建设", "R2"),
)
PROVINCES = ("江苏", "浙江", "广东", "山东", "四川", "湖北", "福建", "安徽", "河南", "上海")
CONVERTIBLE_ISSUERS = {
    "兴业": "兴业银行", "浦发": "浦发银行", "中信": "中信银行", "南银": "南京银行", "杭银": "杭州银行",
    "苏银": "江苏银行", "大秦": "大秦铁路", "通威": "通威股份", "隆基": "隆基绿能", "晶科": "晶科能源",
    "海亮": "海亮股份", "温氏": "温氏股份",
}

SHORT_NAMES = {
    "华夏基金": "华夏", "易方达基金": "易方达", "南方基金": "南方", "广发基金": "广发", "嘉实基金": "嘉实",
    "博时基金": "博时", "富国基金": "富国", "汇添富基金": "汇添富", "招商基金": "招商", "工银瑞信基金": "工银瑞信",
    "鹏华基金": "鹏华", "天弘基金": "天弘", "中欧基金": "中欧", "景顺长城基金": "景顺长城", "兴证全球基金": "兴全",
    "交银施罗德基金": "交银施罗德", "银华基金": "银华", "国泰基金": "国泰", "华安基金": "华安", "大成基金": "大成",
}
MONEY_WORDS = ("现金增利", "天天利", "现金宝", "增利宝", "日日鑫", "添益", "现金添富", "安心收益", "现金管理", "理财宝")
BOND_WORDS = ("纯债", "安心回报", "稳健添利", "信用增利", "双债增强", "恒久信用", "睿享纯债", "裕祥", "汇利", "安泰")
THEMES = (
    "价值精选", "成长先锋", "消费升级", "医疗健康", "新能源产业", "科技创新", "高端制造", "核心优势", "均衡成长",
    "红利优选", "品质生活", "优势企业", "研究精选", "质量优选", "港股通精选", "碳中和", "半导体产业", "数字经济",
    "军工安全", "先进制造", "内需增长", "蓝筹精选", "稳健成长", "远见回报",
)
INDEXES = (
    ("沪深300", "R3"), ("中证500", "R3"), ("中证1000", "R4"), ("上证50", "R3"), ("创业板", "R4"),
    ("科创50", "R4"), ("中证红利", "R3"), ("中证A500", "R3"), ("恒生科技", "R4"), ("中证医疗", "R4"),
    ("中证新能源", "R4"), ("中证白酒", "R4"), ("中证军工", "R4"), ("纳斯达克100", "R4"), ("标普500", "R4"),
)
PLAN_WORDS = ("稳健", "安心", "睿享", "臻选", "金鼎", "启航", "恒盈", "聚鑫", "领航", "尊享", "月月盈", "季季红", "添利")
WEALTH_SERIES = ("睿远稳健", "日日鑫", "朝招金", "恒睿", "安鑫", "天天成长", "周周宝", "季季开", "安享", "固收增强")

#: the services a brokerage "sells", most behind a qualified pool: (name, risk, horizon, variety, pool)
SERVICES = (
    ("融资融券交易", "R4", "medium", "derivatives", "margin"),
    ("科创板股票交易权限", "R4", "medium", "equity", "star"),
    ("创业板股票交易权限", "R4", "medium", "equity", "chinext"),
    ("北交所股票交易权限", "R4", "medium", "equity", "bse"),
    ("港股通交易权限", "R4", "medium", "equity", "hk_connect"),
    ("股票期权交易", "R5", "short", "derivatives", "options"),
    ("风险警示股票交易", "R4", "short", "equity", ""),
    ("退市整理期股票交易", "R5", "short", "equity", ""),
    ("Level-2行情服务", "R1", "short", "other", ""),
    ("基金投顾·稳健组合", "R2", "medium", "fixed_income", ""),
    ("基金投顾·均衡组合", "R3", "medium", "equity", ""),
    ("基金投顾·进取组合", "R4", "long", "equity", ""),
    ("专属投资顾问服务", "R3", "medium", "other", ""),
    ("国债逆回购智能理财", "R1", "short", "fixed_income", ""),
    ("条件单与网格交易工具", "R2", "short", "other", ""),
)

#: the share of each type among generated products
TYPE_SHARES = (
    ("fund", 0.44),
    ("bond", 0.12),
    ("asset_mgmt", 0.15),
    ("wealth", 0.12),
    ("structured", 0.10),
    ("other", 0.05),
)
CLOSED_SHARE = 0.10


class _Maker:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.codes: set[str] = set()
        self.names: set[str] = set()

    def code(self, make: Callable[[random.Random], str]) -> str:
        while True:
            code = make(self.rng)
            if code not in self.codes:
                self.codes.add(code)
                return code

    def unique_name(self, make: Callable[[random.Random], str]) -> str | None:
        for _ in range(20):
            name = make(self.rng)
            if name not in self.names:
                self.names.add(name)
                return name
        return None

    def pick(self, values):
        return self.rng.choice(values)

    # --- one product of each type ---------------------------------------------------------------

    def fund(self) -> dict | None:
        rng = self.rng
        company = self.pick(FUND_COMPANIES)
        short = SHORT_NAMES[company]
        share = self.pick(("A", "C", "A", "E", "B"))
        kind = rng.choices(("money", "short_bond", "bond", "plus_bond", "index", "etf", "mixed", "qdii", "fof", "reit"),
                           weights=(12, 8, 12, 7, 14, 8, 24, 5, 5, 2))[0]
        if kind == "money":
            name = self.unique_name(lambda r: f"{short}{r.choice(MONEY_WORDS)}货币{share if share != 'E' else 'B'}")
            terms = ("R1", "short", "fixed_income", "", self.pick(("0.01", "1.00", "100.00", "1000.00")))
        elif kind == "short_bond":
            name = self.unique_name(lambda r: f"{short}{r.choice(BOND_WORDS)}短债{share}")
            terms = ("R2", "short", "fixed_income", "", self.pick(("10.00", "100.00", "1000.00")))
        elif kind == "bond":
            name = self.unique_name(lambda r: f"{short}{r.choice(BOND_WORDS)}债券{share}")
            terms = ("R2", "medium", "fixed_income", "", self.pick(("100.00", "1000.00")))
        elif kind == "plus_bond":
            name = self.unique_name(lambda r: f"{short}{r.choice(('增强回报', '可转债', '双债', '稳健收益', '信用增强'))}债券{share}")
            terms = (self.pick(("R2", "R3")), "medium", "fixed_income", "", self.pick(("100.00", "1000.00")))
        elif kind in ("index", "etf"):
            index, risk = self.pick(INDEXES)
            suffix = "ETF联接" if kind == "etf" else self.pick(("指数增强", "指数", "ETF联接"))
            qdii = "(QDII)" if index in ("纳斯达克100", "标普500", "恒生科技") else ""
            name = self.unique_name(lambda r: f"{short}{index}{suffix}{qdii}{share}")
            terms = (risk, self.pick(("medium", "long")), "equity", "", self.pick(("10.00", "100.00", "1000.00")))
        elif kind == "mixed":
            name = self.unique_name(lambda r: f"{short}{r.choice(THEMES)}{r.choice(('混合', '股票', '灵活配置混合'))}{share}")
            terms = (self.pick(("R3", "R3", "R4")), self.pick(("medium", "long")), "equity", "", self.pick(("100.00", "1000.00")))
        elif kind == "qdii":
            name = self.unique_name(lambda r: f"{short}{r.choice(('全球科技', '美国精选', '亚洲精选', '全球医疗', '海外中国'))}(QDII){share}")
            terms = ("R4", "long", "equity", "", "1000.00")
        elif kind == "fof":
            year = self.pick(("2030", "2035", "2040", "2045", "2050"))
            name = self.unique_name(lambda r: f"{short}养老目标{year}{r.choice(('三年', '五年'))}持有期混合(FOF){share}")
            terms = ("R3", "long", "equity", "", "1000.00")
        else:
            name = self.unique_name(lambda r: f"{short}{r.choice(('中关村', '张江', '蛇口产园', '高速公路', '仓储物流', '清洁能源', '保障房'))}REIT")
            terms = ("R4", "long", "other", "", "1000.00")
        if name is None:
            return None
        if kind == "etf" or (kind == "index" and rng.random() < 0.3):
            code = self.code(lambda r: r.choice(("510", "512", "515", "159", "588")) + f"{r.randint(0, 999):03d}")
        else:
            code = self.code(lambda r: f"{r.randint(1, 29999):06d}")
        return self._row(code, name, "fund", company, terms)

    def bond(self) -> dict | None:
        rng = self.rng
        year = rng.randint(19, 25)
        kind = rng.choices(("treasury", "local", "policy", "corporate", "convertible"), weights=(20, 15, 15, 35, 15))[0]
        if kind == "treasury":
            name = self.unique_name(lambda r: f"{year}附息国债{r.randint(1, 28):02d}")
            code = self.code(lambda r: f"019{r.randint(500, 999)}")
            return self._row(code, name, "bond", "财政部", ("R1", self.pick(("medium", "long")), "fixed_income", "", "1000.00"))
        if kind == "local":
            province = self.pick(PROVINCES)
            name = self.unique_name(lambda r: f"{year}{province}债{r.randint(1, 99):02d}")
            code = self.code(lambda r: f"1{r.choice(('04', '05', '09'))}{r.randint(0, 999):03d}")
            return self._row(code, name, "bond", f"{province}省人民政府" if province != "上海" else "上海市人民政府", ("R1", "long", "fixed_income", "", "1000.00"))
        if kind == "policy":
            short, issuer, risk = self.pick(BOND_ISSUERS[:3])
            name = self.unique_name(lambda r: f"{year}{short}{r.randint(1, 20):02d}")
            code = self.code(lambda r: f"018{r.randint(0, 999):03d}")
            return self._row(code, name, "bond", issuer, (risk, self.pick(("medium", "long")), "fixed_income", "", "1000.00"))
        if kind == "corporate":
            short, issuer, risk = self.pick(BOND_ISSUERS[3:])
            name = self.unique_name(lambda r: f"{year}{short}{r.choice(('', 'G', 'K', 'Y'))}{r.randint(1, 9):02d}")
            code = self.code(lambda r: f"{r.choice(('12', '13', '18', '24', '14'))}{r.randint(0, 9999):04d}")
            return self._row(code, name, "bond", issuer, (risk, "medium", "fixed_income", "", "1000.00"))
        short = self.pick(sorted(CONVERTIBLE_ISSUERS))
        name = self.unique_name(lambda r: f"{short}转债" if r.random() < 0.5 else f"{short}转{r.randint(2, 3)}")
        code = self.code(lambda r: f"{r.choice(('110', '113', '123', '127', '128'))}{r.randint(0, 999):03d}")
        return self._row(code, name, "bond", CONVERTIBLE_ISSUERS[short], ("R3", "medium", "fixed_income", "", "1000.00"))

    def asset_mgmt(self) -> dict | None:
        rng = self.rng
        manager = self.pick(ASSET_MANAGERS)
        brand = manager[:2]
        kind = rng.choices(
            ("fixed", "mixed", "equity", "ipo_star", "ipo_chinext", "margin", "quant"), weights=(38, 18, 18, 8, 6, 4, 10)
        )[0]
        number = rng.randint(1, 88)
        word = self.pick(PLAN_WORDS)
        if kind == "fixed":
            name = self.unique_name(lambda r: f"{brand}{word}{r.choice(('', '债券', '固收'))}{number}号集合资产管理计划")
            terms = ("R2", self.pick(("short", "medium")), "fixed_income", "")
        elif kind == "mixed":
            name = self.unique_name(lambda r: f"{brand}{word}{r.choice(('增利', '平衡', '优选'))}{number}号集合资产管理计划")
            terms = ("R3", "medium", "equity", "")
        elif kind == "equity":
            name = self.unique_name(lambda r: f"{brand}{r.choice(THEMES)}{number}号集合资产管理计划")
            terms = ("R4", self.pick(("medium", "long")), "equity", "")
        elif kind == "ipo_star":
            name = self.unique_name(lambda r: f"{brand}科创板打新{number}号集合资产管理计划")
            terms = ("R4", "medium", "equity", "star")
        elif kind == "ipo_chinext":
            name = self.unique_name(lambda r: f"{brand}创业板{r.choice(('打新', '优选', '成长'))}{number}号集合资产管理计划")
            terms = ("R4", "medium", "equity", "chinext")
        elif kind == "margin":
            name = self.unique_name(lambda r: f"{brand}两融{r.choice(('增强', '优选', '杠杆'))}{number}号集合资产管理计划")
            terms = ("R4", "medium", "derivatives", "margin")
        else:
            name = self.unique_name(lambda r: f"{brand}量化{r.choice(('对冲', '中性', '指增'))}{number}号集合资产管理计划")
            terms = (self.pick(("R3", "R4")), "medium", self.pick(("equity", "derivatives")), "")
        if name is None:
            return None
        amount = self.pick(("1000000.00", "1000000.00", "1000000.00", "3000000.00"))
        code = self.code(lambda r: f"{r.choice(('AM', 'GF', 'ZX', 'HT'))}{r.randint(0, 99999):05d}")
        return self._row(code, name, "asset_mgmt", manager, (*terms, amount))

    def wealth(self) -> dict | None:
        rng = self.rng
        if rng.random() < 0.75:
            bank = self.pick(BANK_WEALTH)
            days = self.pick((7, 14, 30, 60, 90, 180, 365))
            name = self.unique_name(lambda r: f"{bank}{r.choice(WEALTH_SERIES)}{days}天持有期{r.randint(1, 30)}号")
            if name is None:
                return None
            horizon = "short" if days <= 365 else "medium"
            risk = "R1" if days <= 14 else self.pick(("R2", "R2", "R1", "R3"))
            amount = self.pick(("1.00", "1.00", "10000.00", "50000.00"))
            code = self.code(lambda r: f"W{r.randint(0, 999999):06d}")
            return self._row(code, name, "wealth", bank, (risk, horizon, "fixed_income", "", amount))
        broker = self.pick(BROKERS)
        name = self.unique_name(lambda r: f"{broker}{r.choice(('天天利', '现金管理', '保证金理财', '月月利'))}{r.randint(1, 9)}号")
        if name is None:
            return None
        code = self.code(lambda r: f"W{r.randint(0, 999999):06d}")
        return self._row(code, name, "wealth", broker, ("R1", "short", "fixed_income", "", "1000.00"))

    def structured(self) -> dict | None:
        rng = self.rng
        broker = self.pick(BROKERS)
        kind = rng.choices(("protected", "floating", "snowball", "otc_option", "shark_fin"), weights=(30, 20, 25, 10, 15))[0]
        number = rng.randint(1, 999)
        if kind == "protected":
            name = self.unique_name(lambda r: f"{broker}{r.choice(('收益凭证', '本金保障型收益凭证'))}{r.choice(('金鼎', '安享', '稳利', '鑫享'))}{number}期")
            terms = ("R2", "short", "fixed_income", "", "50000.00")
        elif kind == "floating":
            name = self.unique_name(lambda r: f"{broker}非保本浮动收益凭证{number}期")
            terms = ("R4", "short", "complex", "", "50000.00")
        elif kind == "snowball":
            index = self.pick(("中证500", "中证1000", "沪深300", "科创50"))
            name = self.unique_name(lambda r: f"{broker}{index}雪球结构{number}号")
            terms = ("R5", "medium", "complex", "", "1000000.00")
        elif kind == "shark_fin":
            index = self.pick(("中证500", "沪深300", "黄金"))
            name = self.unique_name(lambda r: f"{broker}{index}鲨鱼鳍收益凭证{number}期")
            terms = ("R3", "short", "complex", "", "100000.00")
        else:
            name = self.unique_name(lambda r: f"{broker}{r.choice(('个股', '指数', '商品'))}场外期权{number}号")
            terms = ("R5", "short", "derivatives", "", "1000000.00")
        if name is None:
            return None
        code = self.code(lambda r: f"SF{r.randint(0, 99999):05d}")
        return self._row(code, name, "structured", broker, terms)

    def other(self) -> dict | None:
        rng = self.rng
        if rng.random() < 0.6:
            trust = self.pick(TRUSTS)
            name = self.unique_name(lambda r: f"{trust}·{r.choice(PLAN_WORDS)}{r.randint(1, 99)}号集合资金信托计划")
            terms = (self.pick(("R3", "R4")), "medium", "other", "", "1000000.00")
            issuer = trust
        else:
            issuer = self.pick(("深创投", "红杉中国", "高瓴资本", "中金资本", "IDG资本", "君联资本"))
            name = self.unique_name(lambda r: f"{issuer}{r.choice(('科技成长', '医疗健康', '先进制造', '新消费'))}股权投资基金{r.randint(1, 9)}期")
            terms = ("R5", "long", "other", "", "1000000.00")
        if name is None:
            return None
        code = self.code(lambda r: f"OT{r.randint(0, 99999):05d}")
        return self._row(code, name, "other", issuer, terms)

    def _row(self, code: str, name: str | None, product_type: str, issuer: str, terms: tuple) -> dict | None:
        if name is None:  # no new name found for this kind
            return None
        risk, horizon, variety, pool, amount = terms
        status = "closed" if self.rng.random() < CLOSED_SHARE else "on_sale"
        return dict(
            product_code=code,
            name=name,
            product_type=product_type,
            risk_level=risk,
            horizon=horizon,
            variety=variety,
            required_pool=pool,
            issuer=issuer,
            min_amount=amount,
            status=status,
        )


def products_demo_generate(count: int = 1000, seed: int = 2026) -> list[dict[str, str]]:
    """``count`` products (rows with the import ``COLUMNS``, all values text), the same for the same
    ``count`` and ``seed``; sorted by code. The brokerage's services come first, whatever ``count``."""
    maker = _Maker(seed)
    rows: list[dict[str, str]] = []
    for i, (name, risk, horizon, variety, pool) in enumerate(SERVICES[:count], start=1):
        code = f"SV{i:03d}"
        maker.codes.add(code)
        maker.names.add(name)
        rows.append(maker._row(code, name, "service", "本公司", (risk, horizon, variety, pool, "0.00")) | {"status": "on_sale"})
    rest = count - len(rows)
    makers = {"fund": maker.fund, "bond": maker.bond, "asset_mgmt": maker.asset_mgmt, "wealth": maker.wealth,
              "structured": maker.structured, "other": maker.other}
    targets = [(kind, int(rest * share)) for kind, share in TYPE_SHARES]
    targets[0] = (targets[0][0], targets[0][1] + rest - sum(n for _, n in targets))  # rounding goes to funds
    for kind, wanted in targets:
        made, attempts = 0, 0
        while made < wanted and attempts < wanted * 20:
            attempts += 1
            row = makers[kind]()
            if row is not None:
                rows.append(row)
                made += 1
    rows.sort(key=lambda r: r["product_code"])
    return rows


@transaction.atomic
def products_demo_load(*, count: int = 1000, seed: int = 2026) -> int:
    """Add the demo products that are not in the library yet (by code); returns how many were added.
    Bulk insert: no audit entries and no signals (nobody has been matched with them yet)."""
    rows = products_demo_generate(count=count, seed=seed)
    existing = set(Product.objects.values_list("product_code", flat=True))
    new = [Product(**(row | {"min_amount": Decimal(row["min_amount"])})) for row in rows if row["product_code"] not in existing]
    Product.objects.bulk_create(new, batch_size=500)
    return len(new)
