"""Executing the pipeline's expressions on DuckDB, each shape compiled to SQL once per process.

A day's stages build the same expressions every day: only the tables they read (the day's
in-memory tables and Parquet views, whose names are new each day) and the dates in them change.
Ibis compiles an expression in tens of milliseconds — about a second a day over the pipeline's
few dozen statements, repeated on every day of a backfill. :func:`to_arrow` compiles an
expression's *shape* instead: the expression with its tables replaced by placeholders (by order
of appearance) and its date literals by sentinel dates; the SQL of a shape is kept, and each
later expression of the same shape runs that SQL with its own table names and dates put back.

It is exact by construction. The key is the whole expression graph less exactly what is put
back, so two expressions share SQL only when they differ in nothing else: any other difference
(another literal, a column more, a table read twice instead of two tables) is another shape,
compiled on its own. The sentinels (dates in the years 1111–1165, which no brokerage data
holds) are rendered by DuckDB's compiler as ``MAKE_DATE(y, m, d)``; a shape whose SQL would not
show each of them that way is never kept. Other engines compile every expression as before.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import date, timedelta

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.operations as ops
import ibis.expr.types as ir
import pyarrow as pa

_PLACEHOLDER = "__brokercrm_table_{}__"
_SENTINEL_ORIGIN = date(1111, 1, 1)
_MAX_SHAPES = 512  # a day has a few dozen; a bound against unbounded growth in a long process

_shapes: OrderedDict[ops.Node, str | None] = OrderedDict()
_lock = threading.Lock()
stats = {"compiled": 0, "reused": 0, "uncached": 0}


def _sentinel(index: int) -> date:
    return _SENTINEL_ORIGIN + timedelta(days=index)


def _render_date(value: date) -> str:
    return f"MAKE_DATE({value.year}, {value.month}, {value.day})"


def _render_table(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _shape(op: ops.Node) -> tuple[ops.Node, list[str], list[date]] | None:
    """``op`` with its tables as placeholders and its dates as sentinels, with the tables' names
    and the dates in placeholder order; None when a table cannot be named by itself (one in
    another catalog or schema)."""
    replacements: dict[ops.Node, ops.Node] = {}
    names: list[str] = []
    dates: list[date] = []
    seen_dates: dict[date, ops.Node] = {}
    for node in op.find((ops.InMemoryTable, ops.DatabaseTable, ops.Literal)):
        if isinstance(node, ops.Literal):
            if not node.dtype.is_date() or not isinstance(node.value, date):
                continue
            sentinel = seen_dates.get(node.value)
            if sentinel is None:
                sentinel = seen_dates[node.value] = ops.Literal(_sentinel(len(dates)), dt.date)
                dates.append(node.value)
            replacements[node] = sentinel
            continue
        if isinstance(node, ops.DatabaseTable) and (node.namespace.catalog or node.namespace.database):
            return None
        replacements[node] = ops.UnboundTable(name=_PLACEHOLDER.format(len(names)), schema=node.schema)
        names.append(node.name)
    return op.replace(replacements), names, dates


def _compile(con: ibis.BaseBackend, shape: ops.Node, tables: int, dates: int) -> str | None:
    sql = con.compile(shape.to_expr())
    for index in range(dates):
        if _render_date(_sentinel(index)) not in sql:
            return None
    for index in range(tables):
        if _render_table(_PLACEHOLDER.format(index)) not in sql:
            return None
    return sql


def to_arrow(con: ibis.BaseBackend, expr: ir.Table) -> pa.Table:
    """``con.to_pyarrow(expr)``; on DuckDB from SQL compiled once per shape of ``expr``."""
    if getattr(con, "name", "") != "duckdb":
        return con.to_pyarrow(expr)
    op = expr.op()
    found = _shape(op)
    if found is None:
        stats["uncached"] += 1
        return con.to_pyarrow(expr)
    shape, names, dates = found
    with _lock:
        known = shape in _shapes
        sql = _shapes.get(shape)
        if known:
            _shapes.move_to_end(shape)
    if not known:
        sql = _compile(con, shape, len(names), len(dates))
        with _lock:
            _shapes[shape] = sql
            while len(_shapes) > _MAX_SHAPES:
                _shapes.popitem(last=False)
    if sql is None:
        stats["uncached"] += 1
        return con.to_pyarrow(expr)
    stats["reused" if known else "compiled"] += 1
    # (each rendering ends in its closing quote or parenthesis: "…_1__" is no prefix of "…_10__")
    for index, name in enumerate(names):
        sql = sql.replace(_render_table(_PLACEHOLDER.format(index)), _render_table(name))
    for index, value in enumerate(dates):
        sql = sql.replace(_render_date(_sentinel(index)), _render_date(value))
    con._run_pre_execute_hooks(expr)  # registers the in-memory tables, as to_pyarrow does
    from ibis.backends.duckdb.converter import DuckDBPyArrowData

    return expr.__pyarrow_result__(con.con.sql(sql).to_arrow_table(), data_mapper=DuckDBPyArrowData)
