"""CSV exports of the segmentation snapshots (``segments``, ``tier_changes``). No Django.

``brokercrm export segments --date D --out FILE.csv``: ``customer_no, tier, abcd_class, tags``,
one row per customer with a CNY account on D, tags = the customer's tag codes sorted and joined
by ``;``. ``brokercrm export tier-changes --out FILE.csv``: ``customer_no, date, old, new``, every
upgrade and downgrade of the computed days (a starting tier is kept in the history, reason
``initial``, but is not a change). UTF-8, comma-separated, header row, CRLF like the worked
example's expected files.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Callable, Mapping, Sequence

from brokercrm.datacenter import runner
from brokercrm.datacenter.exports import _replace_atomically, _snapshot_rows
from brokercrm.segments import pipeline as sp

SEGMENTS_COLUMNS: tuple[str, ...] = ("customer_no", "tier", "abcd_class", "tags")
TIER_CHANGES_COLUMNS: tuple[str, ...] = ("customer_no", "date", "old", "new")
#: What ``export tier-changes`` lists: changes, not starting tiers.
CHANGE_REASONS = (sp.REASON_UPGRADE, sp.REASON_DOWNGRADE)

#: customer_no → tag codes of a day (``tags_of(data_dir, day)``; default :func:`snapshot_tags`).
TagsOf = Callable[[Path, date], Mapping[str, Sequence[str]]]


def no_tags(data_dir: Path, day: date) -> Mapping[str, Sequence[str]]:
    """No tags for anyone (a ``tags_of`` for callers that want tier and class alone)."""
    return {}


def snapshot_tags(data_dir: Path, day: date) -> Mapping[str, Sequence[str]]:
    """The tags of ``day`` per customer, from the pipeline's ``tags`` snapshot (long form:
    ``customer_no, tag_code``); a customer without a row carries no tag."""
    table = runner.read_snapshot(data_dir=Path(data_dir), table="tags", day=day)
    found: dict[str, list[str]] = {}
    if table is None:
        return found
    for number, code in zip(table.column("customer_no").to_pylist(), table.column("tag_code").to_pylist()):
        found.setdefault(number, []).append(code)
    return found


def export_segments(*, data_dir: Path, day: date, out: Path, tags_of: TagsOf = snapshot_tags) -> int:
    """Write tier, ABCD class and tags of every customer of ``day`` to ``out``; return the rows.

    Raises
    ------
    ValueError
        When ``day`` has no ``segments`` snapshot (``datacenter.exports.ERR_DAY_NOT_COMPUTED``).
    """
    rows = sorted(_snapshot_rows(data_dir, "segments", day), key=lambda r: r["customer_no"])
    tags = tags_of(Path(data_dir), day)

    def write(fh) -> None:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(SEGMENTS_COLUMNS)
        for row in rows:
            codes = ";".join(sorted(tags.get(row["customer_no"], ())))
            writer.writerow((row["customer_no"], row["tier"], row["abcd_class"], codes))

    _replace_atomically(out, write)
    return len(rows)


def tier_changes(*, data_dir: Path) -> list[dict]:
    """Every upgrade and downgrade of the computed days, by date then customer."""
    found: list[dict] = []
    for day in runner.computed_days(data_dir=Path(data_dir)):
        table = runner.read_snapshot(data_dir=Path(data_dir), table="tier_changes", day=day)
        if table is None:
            continue
        found += [r for r in table.to_pylist() if r["reason"] in CHANGE_REASONS]
    return sorted(found, key=lambda r: (r["trade_date"], r["customer_no"]))


def export_tier_changes(*, data_dir: Path, out: Path) -> int:
    """Write every upgrade and downgrade (``customer_no, date, old, new``) to ``out``."""
    rows = tier_changes(data_dir=data_dir)

    def write(fh) -> None:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(TIER_CHANGES_COLUMNS)
        for row in rows:
            writer.writerow((row["customer_no"], row["trade_date"].isoformat(), row["old_tier"], row["new_tier"]))

    _replace_atomically(out, write)
    return len(rows)
