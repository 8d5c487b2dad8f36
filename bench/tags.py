"""Benchmark of the tags of one day: every built-in tag over a million customers with six months of history.

    .venv/bin/python bench/tags.py [--customers 1000000] [--history 125] [--repeat 3] [--keep DIR]

Prepared, not timed: the new-day preparation of ``bench/pipeline.py`` (simulate N customers ×
2 trading days, ingest, compute day 1), then ``--history`` earlier trading days of customer
indicators written as snapshot files (day 1's rows under earlier dates, total assets varied
per day) so that the tags' windows (20/60/126 days, the 1/3/6-month look-backs) read what a
broker six months into production reads.

Also prepared: day 1's ``tag_windows`` (the tags' window sums) from that history, as the
pipeline would have carried them. Timed, in a fresh child process per run:
``runner.compute_day`` of day 2 exactly as ``pipeline_run`` calls it (the 20-day window in
memory, the older days as snapshot files of which it reads only the days leaving the windows
and the look-back days), with the built-in catalogue. Its ``stage_seconds`` split the day: the tags' feature table
(history windows, holdings, trades), the tags themselves, and every other stage. The
reference, measured in the same run, is the rest of the same day — the base indicators,
positions, pools and segments that every night computes anyway — so the ratio says what the
tags add to a night. Target (issue 5): all tags of a day at 1M customers ≤ 60 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import _common as cm  # noqa: E402
import pipeline as bench_pipeline  # noqa: E402

TARGET_SECONDS = 60.0
#: compute_day's stages that are the tags' (runner._STAGE_NAMES)
TAG_STAGES = ("tag_windows", "tag_features", "tags")
HISTORY_MARKER = "bench-tags-history.json"
GIB = 2**30


def _earlier_days(first: date, count: int) -> list[date]:
    """``count`` weekdays before ``first``, oldest first (a synthetic calendar; no holidays)."""
    days: list[date] = []
    d = first
    while len(days) < count:
        d -= timedelta(days=1)
        if d.weekday() < 5:
            days.append(d)
    return days[::-1]


def prepare_history(root: Path, *, calendar: list[date], history: int) -> list[date]:
    """Write ``history`` earlier days of customer indicators beside the published version."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from brokercrm.datacenter import runner

    folder = root / "history"
    marker = root / HISTORY_MARKER
    days = _earlier_days(calendar[0], history)
    if marker.exists() and json.loads(marker.read_text()).get("history") == history:
        if not (root / "tag_windows-day1.parquet").exists():
            _prepare_windows(root, calendar=calendar, earlier=days)
        return days
    folder.mkdir(exist_ok=True)
    version = runner.current_version(root / "data")
    source = pq.read_table(runner._partition(version, "customer_indicators", calendar[0]))
    schema = runner.SNAPSHOT_TABLES["customer_indicators"].to_pyarrow()
    started = time.perf_counter()
    for n, d in enumerate(days):
        factor = pa.scalar(1 + (n % 17 - 8) / 100)  # assets move a little from day to day
        table = source.set_column(
            source.schema.get_field_index("trade_date"), "trade_date", pa.array([d] * source.num_rows, pa.date32())
        )
        assets = pc.multiply(table["total_assets"].cast(pa.float64()), factor)
        table = table.set_column(
            table.schema.get_field_index("total_assets"), "total_assets", assets.cast(schema.field("total_assets").type)
        )
        path = folder / f"trade_date={d.isoformat()}" / "part-0.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table.cast(schema), path, compression="zstd")
    print(f"prepare: {history} days of history written in {time.perf_counter() - started:.0f} s")
    _prepare_windows(root, calendar=calendar, earlier=days)
    marker.write_text(json.dumps({"history": history}))
    return days


def _prepare_windows(root: Path, *, calendar: list[date], earlier: list[date]) -> None:
    """Day 1's window sums (``tag_windows``) from the synthetic history, as the pipeline would
    have carried them: day 2 then reads only the days leaving the windows and the look-backs."""
    import pyarrow.parquet as pq

    from brokercrm.datacenter import runner
    from brokercrm.tagengine import features as tf

    started = time.perf_counter()
    version = runner.current_version(root / "data")
    con = runner.connect("duckdb")
    history = con.read_parquet([str(p) for p in sorted((root / "history").glob("trade_date=*/part-0.parquet"))])
    ci = con.read_parquet(str(runner._partition(version, "customer_indicators", calendar[0])))
    state = tf.window_state_from_history(
        customer_indicators=ci, history=history, trading_days=[*earlier, calendar[0]], day=calendar[0]
    )
    table = con.to_pyarrow(state.order_by("customer_no")).cast(tf.WINDOW_STATE_SCHEMA.to_pyarrow())
    pq.write_table(table, root / "tag_windows-day1.parquet", compression="zstd")
    print(f"prepare: day 1's window sums from the history in {time.perf_counter() - started:.0f} s")


def _child(spec: dict) -> dict:
    """compute_day of the last day, as pipeline_run calls it; seconds per stage and memory."""
    from brokercrm.datacenter import runner, warehouse
    from brokercrm.datacenter.dictionaries import STANDARD_TABLES
    from brokercrm.tagengine import features as tf

    data_dir = Path(spec["data_dir"])
    calendar = [date.fromisoformat(d) for d in spec["calendar"]]
    earlier = [date.fromisoformat(d) for d in spec["earlier"]]
    day, previous = calendar[-1], calendar[-2]
    trading_days = [*earlier, *calendar]
    version = runner.current_version(data_dir)
    history_folder = Path(spec["history"])
    window = trading_days[-20:]
    tag_window = trading_days[-(tf.HISTORY_DAYS + 1) :]
    flows = {table: runner._read_flow(data_dir, table, day) for table in STANDARD_TABLES}
    previous_indicators = runner._state(version, "customer_indicators", previous, runner._KEPT_HISTORY_COLUMNS)
    in_memory = {previous: previous_indicators}
    for w in window[:-1]:
        if w not in in_memory and w in earlier:
            in_memory[w] = runner._state(history_folder.parent, history_folder.name, w, runner._KEPT_HISTORY_COLUMNS)
    tag_history = {
        w: in_memory[w] if w in in_memory else runner._partition(history_folder.parent, history_folder.name, w)
        for w in tag_window[:-1]
    }
    import pyarrow.parquet as pq

    tag_windows = pq.read_table(Path(spec["history"]).parent / "tag_windows-day1.parquet")
    trades = [runner._read_flow(data_dir, "trades", d).select(list(runner._TRADE_COLUMNS)) for d in calendar]
    carry = {t: runner._state(version, t, previous) for t in runner._CARRIED if t != "tag_windows"}
    con = runner.connect("duckdb")
    stages: dict[str, float] = {}
    with cm.PeakRSS() as mem:
        started = time.perf_counter()
        written = runner.compute_day(
            con=con,
            day=day,
            previous_day=previous,
            window=window,
            opening_counters=[],
            flows=flows,
            customer_history=[in_memory[w] for w in window[:-1] if w in in_memory],
            crm=warehouse.read_crm_facts(data_dir),
            trading_days=trading_days,
            tag_history=tag_history,
            tag_windows=tag_windows,
            trades_history=trades,
            industries=warehouse.read_industry(data_dir),
            stage_seconds=stages,
            **carry,
        )
        seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "stages": stages,
        "tag_rows": written["tags"].num_rows,
        "tags_carried": len(set(written["tags"].column("tag_code").to_pylist())),
        "customers": written["customer_indicators"].num_rows,
        "history_files": sum(isinstance(h, Path) for h in tag_history.values()),
        "peak_rss": mem.peak,
    }


def _run_child(spec: dict) -> dict:
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "_child", json.dumps(spec)],
        capture_output=True,
        text=True,
        cwd=HERE.parent,
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"compute_day failed (exit {proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_child"]:
        print(json.dumps(_child(json.loads(argv[1]))))
        return
    parser = argparse.ArgumentParser(description="Benchmark the tags of one day.")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--history", type=int, default=125, help="earlier trading days of history (the tags read 125)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="work (and keep the data) in this folder; reused when prepared alike")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args(argv)

    from brokercrm.tagengine.catalogue import BUILTIN_TAGS, load_catalogue

    root = args.keep or Path(tempfile.mkdtemp(prefix="brokercrm-bench-tags-"))
    root.mkdir(parents=True, exist_ok=True)
    info = bench_pipeline.prepare(
        root, scenario="new-day", customers=args.customers, days=2, seed=args.seed, keep_exports=False
    )
    calendar = [date.fromisoformat(d) for d in info["calendar"]]
    earlier = prepare_history(root, calendar=calendar, history=args.history)
    spec = {
        "data_dir": str(root / "data"),
        "calendar": [d.isoformat() for d in calendar],
        "earlier": [d.isoformat() for d in earlier],
        "history": str(root / "history"),
    }
    load_before = os.getloadavg()
    runs = []
    for i in range(args.repeat):
        r = _run_child(spec)
        runs.append(r)
        tags = sum(r["stages"].get(k, 0) for k in TAG_STAGES)
        print(f"run {i + 1}/{args.repeat}: compute_day {r['seconds']:.1f} s, of which tags {tags:.1f} s", flush=True)
    load_after = os.getloadavg()

    def tags_of(r: dict) -> float:
        return sum(r["stages"].get(k, 0) for k in TAG_STAGES)

    tag_times = [tags_of(r) for r in runs]
    rest_times = [r["seconds"] - tags_of(r) for r in runs]
    ratios = [t / rest for t, rest in zip(tag_times, rest_times)]
    last = runs[-1]
    n_tags = len(load_catalogue(BUILTIN_TAGS))
    print()
    print(f"{last['customers']:,} customers, {n_tags} built-in tags, {args.history} earlier days of history "
          f"(day 1's window sums carried: day 2 reads the days leaving the windows and the look-backs), "
          f"load {load_before[0]:.1f}–{load_after[0]:.1f}")
    print(f"tags of the day:      best {min(tag_times):.1f} s, median {statistics.median(tag_times):.1f} s "
          f"(window sums {last['stages'].get('tag_windows', 0):.1f} s + feature table {last['stages'].get('tag_features', 0):.1f} s "
          f"+ tags {last['stages'].get('tags', 0):.1f} s in the last run)")
    print(f"rest of the day:      best {min(rest_times):.1f} s, median {statistics.median(rest_times):.1f} s")
    print(f"tags / rest of day:   {min(ratios):.2f}× (median {statistics.median(ratios):.2f}×)")
    print(f"tag pairs written:    {last['tag_rows']:,} ({last['tags_carried']} distinct tags carried by someone)")
    print(f"peak RSS:             {last['peak_rss'] / GIB:.1f} GiB")
    ok = min(tag_times) <= TARGET_SECONDS
    print(f"target ≤ {TARGET_SECONDS:.0f} s: {'met' if ok else 'NOT met'}")
    slowest = sorted(last["stages"].items(), key=lambda kv: -kv[1])[:8]
    print("slowest stages (last run): " + ", ".join(f"{k} {v:.1f} s" for k, v in slowest))
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "history": args.history, "tags": n_tags}, indent=1))


if __name__ == "__main__":
    main()
