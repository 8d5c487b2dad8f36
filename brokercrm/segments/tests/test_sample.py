"""The worked example: tiers and ABCD classes on 2026-04-22 and the tier changes, as
examples/sample/expected worked them out independently, through the exports; and the tags
the pipeline run gives every customer (hand-checked ones, and all of them against the tag
engine run from scratch over the whole history)."""

from __future__ import annotations

import csv
from datetime import date

import ibis
import pytest

from typer.testing import CliRunner

from brokercrm.cli import app
from brokercrm.segments.exports import SEGMENTS_COLUMNS, export_segments, tier_changes
from brokercrm.segments.tests.sample import SAMPLE

pytestmark = pytest.mark.slow
LAST = date(2026, 4, 22)


@pytest.fixture(scope="module")
def sample(sample_copy):
    data_dir = sample_copy  # the pipeline run computed the segments and the tags of every day
    from brokercrm.datacenter import runner

    days = runner.computed_days(data_dir=data_dir)
    assert len(days) == 22 and days[-1] == LAST
    return data_dir


def _cli(data_dir):
    from brokercrm.config import get_config

    get_config.cache_clear()
    return CliRunner(env={"BROKERCRM_DATA_DIR": str(data_dir)})


@pytest.fixture(autouse=True)
def _fresh_config():
    from brokercrm.config import get_config

    yield
    get_config.cache_clear()


def _rows(path):
    return list(csv.reader(path.read_text(encoding="utf-8").splitlines()))


def test_tiers_and_classes_of_the_last_day_match_the_worked_example(sample, tmp_path):
    out = tmp_path / "segments.csv"
    result = _cli(sample).invoke(app, ["export", "segments", "--date", LAST.isoformat(), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "wrote 7 rows" in result.output
    got = _rows(out)
    expected = _rows(SAMPLE / "expected" / f"segments-{LAST}.csv")
    assert got[0] == list(SEGMENTS_COLUMNS)
    # The expected file has no tags column: tier and class are compared to it, the tags below.
    assert [row[:3] for row in got[1:]] == expected[1:]
    tags = {row[0]: row[3].split(";") for row in got[1:]}
    for number, codes in tags.items():
        assert codes == sorted(codes) and all(codes), number  # sorted codes joined by ";"
    # Hand-checked from the counters' customer files (age and gender as of 2026-04-22) and the
    # worked classes: 10000000 born 1986-02-27, sex 1 (female); 10000006 born 1965-11-17, sex 0
    # (male); 20000007 born 1994-10-16, XB 1 (male); 10000004 is an institution (no age, no
    # gender). Each carries the class tag of its worked ABCD class.
    assert {"age_40_49", "gender_female", "class_b"} <= set(tags["10000000"])
    assert {"age_60_69", "gender_male", "class_a"} <= set(tags["10000006"])
    assert {"age_30_39", "gender_male", "class_c"} <= set(tags["20000007"])
    assert not [c for c in tags["10000004"] if c.startswith(("age_", "gender_"))]
    for number, _tier, cls in expected[1:]:
        assert [c for c in tags[number] if c.startswith("class_")] == [f"class_{cls.lower()}"], number


def test_the_runs_tags_are_the_tag_engine_over_the_whole_history(sample):
    """The run keeps 126 days of indicators and 60 of trades in memory and carries the customer
    master: the tags of the last day equal the tag engine's over every snapshot read back."""
    import pyarrow as pa

    from brokercrm.datacenter import runner, warehouse
    from brokercrm.tagengine.catalogue import compute_tags, load_catalogue
    from brokercrm.tagengine.features import feature_table

    days = runner.computed_days(data_dir=sample)

    def snap(table, day=LAST):
        return ibis.memtable(runner.read_snapshot(data_dir=sample, table=table, day=day))

    history = pa.concat_tables(
        [runner.read_snapshot(data_dir=sample, table="customer_indicators", day=d) for d in days[:-1]]
    )
    features = feature_table(
        day=LAST,
        trading_days=days,
        customers=snap("customers"),
        customer_indicators=snap("customer_indicators"),
        history=ibis.memtable(history),
        accounts=snap("accounts"),
        account_indicators=snap("account_indicators"),
        positions=snap("positions"),
        closes=snap("closes"),
        securities=ibis.memtable(warehouse.read_flows(sample, "securities", start=LAST, end=LAST)),
        industries=ibis.memtable(warehouse.read_industry(sample)) if warehouse.read_industry(sample) else None,
        trades=ibis.memtable(warehouse.read_flows(sample, "trades")),
        segments=snap("segments"),
    )
    expected = compute_tags(features, load_catalogue(), day=LAST).to_pyarrow().to_pylist()
    got = runner.read_snapshot(data_dir=sample, table="tags", day=LAST).to_pylist()
    assert sorted((r["customer_no"], r["tag_code"]) for r in got) == sorted(
        (r["customer_no"], r["tag_code"]) for r in expected
    )
    # Every customer of the day carries tier, class and tags, on every computed day.
    for day in days:
        customers = set(runner.read_snapshot(data_dir=sample, table="customer_indicators", day=day).column("customer_no").to_pylist())
        segments = runner.read_snapshot(data_dir=sample, table="segments", day=day).to_pylist()
        assert {r["customer_no"] for r in segments} == customers, day
        assert all(r["tier"] and r["abcd_class"] for r in segments), day
        tagged = set(runner.read_snapshot(data_dir=sample, table="tags", day=day).column("customer_no").to_pylist())
        assert tagged == customers, day


def test_tier_changes_list_upgrades_and_downgrades_not_starting_tiers(sample, tmp_path):
    out = tmp_path / "tier-changes.csv"
    result = _cli(sample).invoke(app, ["export", "tier-changes", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == (SAMPLE / "expected" / "tier-changes.csv").read_bytes()
    # The starting tiers are kept in the history all the same: one per customer, on their first
    # day (20000003 opens its account on 2026-03-27).
    from brokercrm.datacenter import runner

    initial = {}
    for day in runner.computed_days(data_dir=sample):
        for row in runner.read_snapshot(data_dir=sample, table="tier_changes", day=day).to_pylist():
            assert row["reason"] == "initial" and row["old_tier"] is None
            initial[row["customer_no"]] = (day, row["new_tier"])
    assert len(initial) == 7
    assert initial["20000003"] == (date(2026, 3, 27), "standard")
    assert tier_changes(data_dir=sample) == []


def test_a_day_without_segments_is_refused_with_the_computed_range(sample, tmp_path):
    with pytest.raises(ValueError, match="no segments for 2026-05-04"):
        export_segments(data_dir=sample, day=date(2026, 5, 4), out=tmp_path / "x.csv")
    result = _cli(sample).invoke(app, ["export", "segments", "--date", "2026-05-04", "--out", str(tmp_path / "x.csv")])
    assert result.exit_code != 0
    assert "no segments for 2026-05-04" in result.output


def test_published_segments_show_on_the_customer_page(sample, world):
    """The data center's publish (branches 0101 and 0102 are the world's) writes the customers,
    the segmentation of the last day, every day's tier changes and the tags: the customer page
    and the customer list show them."""
    from brokercrm.datacenter import runner
    from brokercrm.datacenter.services import datacenter_publish
    from brokercrm.segments.exports import snapshot_tags
    from brokercrm.segments.models import CustomerSegment, CustomerTag, TierChange
    from brokercrm.segments.services import segments_publish, tags_publish

    summary = datacenter_publish(data_dir=sample)
    assert summary.counts["segments"] == 7 and summary.counts["tier_changes"] == 7
    rows = runner.read_snapshot(data_dir=sample, table="segments", day=LAST).to_pylist()
    stored = {s.customer.customer_no: (s.tier, s.abcd_class) for s in CustomerSegment.objects.unscoped().select_related("customer")}
    expected = _rows(SAMPLE / "expected" / f"segments-{LAST}.csv")[1:]
    assert stored == {no: (tier, cls) for no, tier, cls in expected}
    assert TierChange.objects.unscoped().count() == 7
    tags = snapshot_tags(sample, LAST)
    stored_tags = sorted(CustomerTag.objects.unscoped().values_list("customer__customer_no", "tag_code"))
    assert stored_tags == sorted((no, code) for no, codes in tags.items() for code in codes)
    assert summary.counts["tags_added"] == len(stored_tags) and summary.counts["tags_removed"] == 0
    # Publishing the same day again writes nothing: only rows that changed are written.
    again = segments_publish(rows=rows, changes=[], as_of=LAST)
    assert (again.segments_written, again.segments_unchanged) == (0, 7)
    pairs = [(no, code) for no, codes in tags.items() for code in codes]
    assert tags_publish(rows=pairs, as_of=LAST).added == 0
    # A tag that ends is deleted, one that appears is added; the rest stay untouched.
    changed = [p for p in pairs if p != ("10000000", "class_b")] + [("10000000", "class_a")]
    moved = tags_publish(rows=changed, as_of=LAST)
    assert (moved.added, moved.removed, moved.unchanged) == (1, 1, len(pairs) - 1)
    tags_publish(rows=pairs, as_of=LAST)

    page = world.client("hq_admin").get("/customers/10000000/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="segment"' in html
    assert "2026-03-23" in html  # gold since the first day
    from brokercrm.segments.choices import ABCD_STRATEGIES, AbcdClass

    assert str(ABCD_STRATEGIES[AbcdClass.B]) in html
    # The customer's tags with their catalogue names, and tier + class on the customer list.
    assert 'data-testid="customer-tags"' in html
    assert 'data-tag="class_b"' in html
    from brokercrm.segments.selectors import tag_name

    assert tag_name("class_b") in html
    listing = world.client("hq_admin").get("/customers/").content.decode()
    assert 'data-testid="row-abcd"' in listing and "title=\"" + str(ABCD_STRATEGIES[AbcdClass.B]) in listing
