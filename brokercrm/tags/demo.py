"""Head office's own tags in the demo, beside the built-in ones (created once; a second run
leaves them as they are)."""

from __future__ import annotations

from brokercrm.tags.models import CustomTag
from brokercrm.tags.services import custom_tags_create

DEMO_TAGS = (
    {
        "code": "bank_income_investor",
        "name_zh": "银行股收息客户",
        "name_en": "Bank-stock income investor",
        "category": "holdings",
        "description": "Aged 50 or more, at least ¥100,000 of assets, and banks are the largest industry held "
        "(at least 30% of the stock value): candidates for dividend and fixed-income products.",
        "rule": "tag('prefers_banks') and age >= 50 and total_assets >= 100000",
    },
    {
        "code": "cash_rich_senior",
        "name_zh": "高现金长者",
        "name_en": "Cash-rich senior",
        "category": "assets",
        "description": "Aged 60 or more with at least ¥200,000 of assets, half of it or more in cash: "
        "candidates for wealth-management products.",
        "rule": "age >= 60 and total_assets >= 200000 and cash_balance >= 0.5 * total_assets",
    },
    {
        "code": "active_growth_trader",
        "name_zh": "双创活跃交易者",
        "name_en": "Active ChiNext/STAR trader",
        "category": "behaviour",
        "description": "Holds ChiNext or STAR Market stocks and traded 10 times or more over the last 20 "
        "trading days: check the suitability of growth-board products.",
        "rule": "(holds_chinext or holds_star) and trade_count_20d >= 10",
    },
)


def tags_demo_load() -> int:
    """Create the demo's custom tags that do not exist yet; returns how many were created."""
    missing = [t for t in DEMO_TAGS if not CustomTag.objects.filter(code=t["code"]).exists()]
    if not missing:
        return 0
    return len(custom_tags_create(actor=None, entries=missing, username="demo"))
