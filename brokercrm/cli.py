"""The ``brokercrm`` command for operators. Verbs are thin: parse, call one service, show progress.

Every verb works on a fresh data directory: it creates ``BROKERCRM_DATA_DIR`` and applies
pending migrations before doing its work.
"""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

app = typer.Typer(help="brokercrm — customer relationship management for securities brokerages.", no_args_is_help=True)
org_app = typer.Typer(help="The organisation tree.", no_args_is_help=True)
token_app = typer.Typer(help="REST API tokens.", no_args_is_help=True)
pipeline_app = typer.Typer(help="The data center's indicator pipeline.", no_args_is_help=True)
export_app = typer.Typer(help="Exports for users, auditors and checks.", no_args_is_help=True)
app.add_typer(org_app, name="org")
app.add_typer(token_app, name="token")
app.add_typer(pipeline_app, name="pipeline")
app.add_typer(export_app, name="export")
products_app = typer.Typer(help="The product library: import and export.", no_args_is_help=True)
app.add_typer(products_app, name="products")
console = Console()


def setup(*, migrate: bool = True) -> None:
    """Configure Django, create the data directory and apply pending migrations."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokercrm.settings")
    import django

    from brokercrm.config import get_config

    get_config().data_dir.mkdir(parents=True, exist_ok=True)
    django.setup()
    if migrate:
        _migrate_if_needed()


def _migrate_if_needed(verbosity: int = 0) -> None:
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        call_command("migrate", interactive=False, verbosity=verbosity)


def _fail(message: str) -> None:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code=2)


@app.command()
def migrate() -> None:
    """Create or update the database schema."""
    setup(migrate=False)
    _migrate_if_needed(verbosity=1)
    console.print("[green]database is up to date[/green]")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="address to listen on"),
    port: int = typer.Option(8000, help="port to listen on"),
    workers: int = typer.Option(2, help="worker processes"),
) -> None:
    """Serve the web app and the API (gunicorn; static files by WhiteNoise)."""
    setup()
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)
    from gunicorn.app.base import BaseApplication

    from brokercrm.wsgi import application

    class _Server(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("accesslog", "-")
            self.cfg.set("timeout", 120)

        def load(self):
            return application

    console.print(f"serving on [bold]http://{host}:{port}/[/bold]  (Ctrl-C stops)")
    _Server().run()


@app.command()
def createuser(
    username: str = typer.Argument(..., help="login name"),
    role: str = typer.Option(..., help="hq_admin, branch_manager, team_lead, account_manager, researcher, compliance"),
    node: str = typer.Option(..., help="organisation node code"),
    name: str = typer.Option("", help="display name"),
    password: Optional[str] = typer.Option(None, help="password (prompted for when omitted)"),
) -> None:
    """Create a login placed in the organisation with a role."""
    setup()
    from django.core.exceptions import ValidationError

    from brokercrm.org.choices import Role
    from brokercrm.org.models import OrgNode
    from brokercrm.org.services import employee_create

    if role not in Role.values:
        _fail(f"unknown role {role!r}; one of {', '.join(Role.values)}")
    target = OrgNode.objects.filter(code=node).first()
    if target is None:
        _fail(f"no organisation node with code {node!r} (see `brokercrm org list`)")
    if password is None:
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Password (again): "):
            _fail("the passwords differ")
    try:
        employee_create(username=username, password=password, role=role, node=target, display_name=name)
    except ValidationError as exc:
        _fail(" ".join(exc.messages))
    console.print(f"[green]created[/green] {username} ({role} at {target})")


@org_app.command("add")
def org_add(
    code: str = typer.Argument(..., help="unique node code, e.g. a branch number 0101"),
    name: str = typer.Argument(..., help="node name"),
    kind: str = typer.Option(..., help="hq, region, branch or team"),
    parent: Optional[str] = typer.Option(None, help="parent node code (none for the head office)"),
) -> None:
    """Add a node to the organisation tree."""
    setup()
    from django.core.exceptions import ValidationError

    from brokercrm.org.choices import NodeKind
    from brokercrm.org.models import OrgNode
    from brokercrm.org.services import org_node_create

    if kind not in NodeKind.values:
        _fail(f"unknown kind {kind!r}; one of {', '.join(NodeKind.values)}")
    parent_node = None
    if parent:
        parent_node = OrgNode.objects.filter(code=parent).first()
        if parent_node is None:
            _fail(f"no organisation node with code {parent!r}")
    try:
        node = org_node_create(code=code, name=name, kind=kind, parent=parent_node)
    except ValidationError as exc:
        _fail(" ".join(exc.messages))
    console.print(f"[green]added[/green] {node}")


@org_app.command("list")
def org_list() -> None:
    """Show the organisation tree."""
    setup()
    from brokercrm.org.models import OrgNode

    table = Table("code", "name", "kind", "parent", "people")
    for node in OrgNode.objects.select_related("parent").order_by("path"):
        table.add_row(
            node.code,
            "  " * node.depth + node.name,
            node.kind,
            node.parent.code if node.parent else "",
            str(node.employees.count()),
        )
    console.print(table)


@token_app.command("create")
def token_create(
    username: str = typer.Argument(..., help="the user the token acts as"),
    name: str = typer.Option("cli", help="what the token is for"),
    days: int = typer.Option(90, help="days until it expires (0: never)"),
) -> None:
    """Issue a bearer token for the REST API; it is shown once."""
    setup()
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from brokercrm.org.services import api_token_create

    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        _fail(f"no active user {username!r}")
    expires = timezone.now() + timedelta(days=days) if days > 0 else None
    _, token = api_token_create(user=user, name=name, expires_at=expires)
    console.print(token)


@app.command()
def demo(
    customers: int = typer.Option(10_000, help="customers of the simulated brokerage (first run only)"),
    days: int = typer.Option(63, help="trading days to simulate (first run only)"),
    seed: int = typer.Option(2026, help="simulation seed"),
) -> None:
    """Load the demo brokerage: simulated counter data through ingest, pipeline and publish, an
    organisation around its branches and one login per role (safe to re-run)."""
    setup()
    from brokercrm.demo import DEMO_PASSWORD, FEATURED, demo_load

    with console.status("demo") as status:
        summary = demo_load(
            customers=customers,
            days=days,
            seed=seed,
            data_dir=_data_dir(),
            step=lambda message: (status.update(message), console.print(f"· {message}")),
        )
    console.print(
        f"[green]demo ready[/green]: {summary.customers} customers in {summary.branches} branches, "
        f"{summary.logins} logins ({summary.days} trading days computed now)"
    )
    table = Table("login", "password", "role", "sees", title="demo logins")
    for username, role, sees in FEATURED:
        table.add_row(username, DEMO_PASSWORD, role, sees)
    console.print(table)


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[note]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def _data_dir():
    from brokercrm.config import get_config

    return get_config().data_dir


@app.command()
def simulate(
    out: Path = typer.Option(..., help="an empty folder for the counter exports"),
    customers: int = typer.Option(10_000, help="customers on the initial day"),
    days: int = typer.Option(60, help="trading days"),
    seed: int = typer.Option(1, help="random seed: the same seed writes the same bytes"),
    start: Optional[str] = typer.Option(None, help="first calendar day, YYYY-MM-DD"),
    faults: bool = typer.Option(False, help="add realistic damage (bad rows, a missing column, a missing file)"),
) -> None:
    """Write a synthetic brokerage as end-of-day exports of a Hundsun-style and an Apex-style counter."""
    from datetime import date

    from brokercrm.simulate import simulate as run

    with _progress() as bar:
        task = bar.add_task("simulate", total=days, note="")
        summary = run(
            out=out,
            customers=customers,
            days=days,
            seed=seed,
            start=date.fromisoformat(start) if start else None,
            faults=faults,
            progress=lambda done, total, day: bar.update(task, completed=done, total=total, note=str(day)),
        )
    console.print(
        f"[green]wrote[/green] {out}: {len(summary.trading_days)} trading days, "
        f"{summary.customers} customers, {summary.seconds:.1f} s"
    )


@app.command()
def ingest(
    path: Path = typer.Argument(..., help="a counter's root folder (day folders YYYYMMDD) or one day folder"),
    counter: str = typer.Option(..., help="counter style: hundsun or apex"),
    as_json: bool = typer.Option(False, "--json", help="print the per-file counts as JSON"),
) -> None:
    """Read the days of a counter export not ingested yet (and re-delivered ones); exit 2 when a day was refused."""
    setup(migrate=False)
    from brokercrm.datacenter.ingest import IngestError
    from brokercrm.datacenter.ingest import ingest as run

    try:
        if as_json:
            result = run(counter, path, data_dir=_data_dir())
        else:
            with _progress() as bar:
                task = bar.add_task(f"ingest {counter}", total=None, note="")

                def step(p) -> None:
                    bar.update(task, completed=p.done, total=p.total, note=f"{p.trade_date or ''} {p.status or ''}")

                result = run(counter, path, data_dir=_data_dir(), progress=step)
    except IngestError as exc:
        _fail(str(exc))
    if as_json:
        print(result.to_json())
    else:
        table = Table("day", "status", "file", "read", "loaded", "quarantined", title=f"ingest {counter}")
        for day in result.days:
            if day.message:
                table.add_row(str(day.trade_date or day.folder), f"[red]{day.status}[/red]", day.message, "", "", "")
            for f in day.files:
                table.add_row(str(day.trade_date), day.status, f.file, str(f.read), str(f.loaded), str(f.quarantined))
        console.print(table)
    raise typer.Exit(code=0 if result.ok else 2)


@pipeline_app.command("run")
def pipeline_run(
    date_from: Optional[str] = typer.Option(None, "--from", help="recompute from this day (YYYY-MM-DD)"),
    date_to: Optional[str] = typer.Option(None, "--to", help="compute up to this day (YYYY-MM-DD)"),
    publish: bool = typer.Option(True, help="publish the results to the database for pages"),
    checkpoint_minutes: float = typer.Option(
        10.0,
        "--checkpoint-minutes",
        min=0.0,
        help="publish the days a long run of new days has finished this often, so that a killed run keeps them"
        " and the next one goes on from there (0: after every day)",
    ),
) -> None:
    """Compute positions, base indicators, reconciliation and data-quality warnings for the ingested
    days not computed yet (BROKERCRM_ENGINE: duckdb or spark), then publish what pages need."""
    setup()
    from datetime import date, timedelta

    from brokercrm.config import get_config
    from brokercrm.datacenter.crm_facts import crm_facts_refresh
    from brokercrm.datacenter.runner import pipeline_run as run
    from brokercrm.datacenter.services import datacenter_publish
    from brokercrm.segments.selectors import tier_policy_thresholds
    from brokercrm.tagengine.catalogue import CatalogueError
    from brokercrm.tags.selectors import current_catalogue

    try:
        catalogue = current_catalogue()  # built-in and head office's tags; a change recomputes the days
    except CatalogueError as exc:
        _fail(f"the tag catalogue does not validate:\n{exc}")
    start = date.fromisoformat(date_from) if date_from else None
    crm_facts_refresh(data_dir=_data_dir())  # the pools read the CRM's assessments and tests
    with _progress() as bar:
        task = bar.add_task(f"pipeline ({get_config().engine})", total=None, note="")
        result = run(
            data_dir=_data_dir(),
            date_from=start,
            date_to=date.fromisoformat(date_to) if date_to else None,
            engine=get_config().engine,
            progress=lambda done, total, day: bar.update(task, completed=done, total=total, note=str(day)),
            thresholds=tier_policy_thresholds(),  # head office's; a change recomputes the days
            catalogue=catalogue,
            checkpoint_seconds=checkpoint_minutes * 60,
        )
        if publish:
            steps = bar.add_task("publish", total=None, note="")
            summary = datacenter_publish(
                data_dir=_data_dir(),
                # every day this run computed is published again: a recomputation without a new
                # day (head office changed the tier thresholds or a tag) must reach the pages too
                since=(first - timedelta(days=1)) if (first := start or min(result.computed, default=None)) else None,
                progress=lambda what, done, total: bar.update(steps, completed=done, total=total, note=what),
            )
    console.print(
        f"[green]computed[/green] {len(result.computed)} days in {result.seconds:.1f} s: "
        f"{result.breaks} reconciliation breaks, {result.warnings} data-quality warnings"
        + (f"; waiting for counters: {', '.join(map(str, result.pending))}" if result.pending else "")
        + (f"; {len(result.checkpoints)} checkpoint(s) published on the way" if result.checkpoints else "")
    )
    if publish:
        console.print(f"[green]published[/green] up to {summary.latest_day}: {summary.counts}")
        _escalate()
        if summary.latest_day is not None:  # the market events' holdings index of the published day
            from brokercrm.service.impact import holdings_index

            holdings_index(as_of=summary.latest_day, data_dir=_data_dir())


def _export_day(day: str):
    from datetime import date

    try:
        return date.fromisoformat(day)
    except ValueError:
        _fail(f"--date must be YYYY-MM-DD, not {day!r}")


def _write_day_export(run, day: str, out: Path) -> None:
    """Run an export of one computed day (``run(data_dir=, day=, out=)`` returning its row count)."""
    try:
        rows = run(data_dir=_data_dir(), day=_export_day(day), out=out)
    except ValueError as exc:  # the day is not computed
        _fail(str(exc))
    console.print(f"[green]wrote[/green] {rows} rows to {out}")


@export_app.command("indicators")
def export_indicators(
    day: str = typer.Option(..., "--date", help="trading day, YYYY-MM-DD"),
    out: Path = typer.Option(..., help="CSV file to write"),
) -> None:
    """One row per customer with a CNY account: the base indicators of the day (COUNTERS.md contract)."""
    from brokercrm.datacenter.exports import export_indicators as run

    _write_day_export(run, day, out)


@export_app.command("pools")
def export_pools(
    day: str = typer.Option(..., "--date", help="trading day, YYYY-MM-DD"),
    out: Path = typer.Option(..., help="CSV file to write"),
) -> None:
    """Qualified customer pools of the day: customer_no, pool, eligible (yes/no), reasons."""
    from brokercrm.datacenter.exports import export_pools as run

    _write_day_export(run, day, out)


@export_app.command("suitability")
def export_suitability(
    day: str = typer.Option(..., "--date", help="trading day, YYYY-MM-DD"),
    out: Path = typer.Option(..., help="CSV file to write"),
    customers: Optional[str] = typer.Option(None, help="customer numbers, comma-separated (default: the day's pool snapshot)"),
    products: Optional[str] = typer.Option(None, help="product codes, comma-separated (default: the whole library)"),
) -> None:
    """Suitability of customers × products as of the day: customer_no, product_code, result, reasons."""
    setup()
    from brokercrm.suitability.services import suitability_export as run

    def _items(text: Optional[str]):
        return [v.strip() for v in text.split(",") if v.strip()] if text else None

    try:
        rows = run(
            day=_export_day(day),
            out=out,
            data_dir=_data_dir(),
            customer_nos=_items(customers),
            product_codes=_items(products),
        )
    except ValueError as exc:  # the day is not computed, or an unknown customer or product
        _fail(str(exc))
    console.print(f"[green]wrote[/green] {rows} rows to {out}")


@export_app.command("quarantine")
def export_quarantine(out: Path = typer.Option(..., help="CSV file to write")) -> None:
    """Every quarantined row: counter, trade_date, file, line, field, reason."""
    from brokercrm.datacenter.exports import export_quarantine as run

    rows = run(_data_dir(), out)
    console.print(f"[green]wrote[/green] {rows} rows to {out}")


@export_app.command("reconciliation")
def export_reconciliation(
    day: str = typer.Option(..., "--date", help="trading day, YYYY-MM-DD"),
    out: Path = typer.Option(..., help="CSV file to write"),
) -> None:
    """The reconciliation breaks of a day (account, security, expected, found)."""
    from brokercrm.datacenter.exports import export_reconciliation as run

    _write_day_export(run, day, out)


@export_app.command("segments")
def export_segments(
    day: str = typer.Option(..., "--date", help="trading day, YYYY-MM-DD"),
    out: Path = typer.Option(..., help="CSV file to write"),
) -> None:
    """Tier, ABCD class and tags of every customer of the day: customer_no, tier, abcd_class, tags."""
    from brokercrm.segments.exports import export_segments as run

    _write_day_export(run, day, out)


@export_app.command("tier-changes")
def export_tier_changes(out: Path = typer.Option(..., help="CSV file to write")) -> None:
    """Every tier upgrade and downgrade of the computed days: customer_no, date, old, new."""
    from brokercrm.segments.exports import export_tier_changes as run

    rows = run(data_dir=_data_dir(), out=out)
    console.print(f"[green]wrote[/green] {rows} rows to {out}")


@products_app.command("import")
def products_import_command(
    file: Path = typer.Argument(..., help="CSV (UTF-8) or Excel (.xlsx) file with the product columns"),
) -> None:
    """Create or update products from a file; bad lines are listed and skipped (exit 0), a file that
    cannot be read as a product file is refused whole (exit 2)."""
    setup()
    from django.core.exceptions import ValidationError

    from brokercrm.products.services import products_import

    try:
        result = products_import(actor=None, path_or_file=file, filename=file.name)
    except ValidationError as exc:
        _fail(" ".join(exc.messages))
    if result.errors:
        table = Table("line", "field", "value", "reason", title=f"rejected lines of {file.name}")
        for error in result.errors:
            table.add_row(str(error.line), error.field or "—", error.value, error.reason)
        console.print(table)
    colour = "yellow" if result.errors else "green"
    console.print(
        f"[{colour}]{file.name}[/{colour}]: {result.read} lines read, {result.created} created, "
        f"{result.updated} updated, {result.unchanged} unchanged, {result.rejected} rejected"
    )


@products_app.command("export")
def products_export_command(out: Path = typer.Option(..., help="Excel file to write (.xlsx)")) -> None:
    """Write the whole product library as an Excel workbook with the import columns."""
    setup()
    from brokercrm.products.models import Product
    from brokercrm.products.services import products_export_xlsx

    rows = products_export_xlsx(products=Product.objects.order_by("product_code").iterator(), out=out)
    console.print(f"[green]wrote[/green] {rows} products to {out}")


kyc_app = typer.Typer(help="Know your customer: the risk questionnaire and the CRM facts.", no_args_is_help=True)
app.add_typer(kyc_app, name="kyc")


@kyc_app.command("seed")
def kyc_seed_command() -> None:
    """Create the default risk questionnaire (SAC template) when none is active."""
    setup()
    from brokercrm.kyc.services import kyc_seed_default

    questionnaire = kyc_seed_default()
    console.print(f"[green]active questionnaire[/green]: v{questionnaire.version} {questionnaire.title}")


@kyc_app.command("export-facts")
def kyc_export_facts_command() -> None:
    """Write the CRM's assessments, recognitions and passed knowledge tests for the pools
    (``<data dir>/warehouse/crm``); ``pipeline run`` does this itself before computing."""
    setup()
    from brokercrm.kyc.services import crm_facts_export

    crm_facts_export(data_dir=_data_dir())
    console.print(f"[green]wrote[/green] the CRM facts under {_data_dir() / 'warehouse' / 'crm'}")


tags_app = typer.Typer(help="The tag catalogue: built-in tags and head office's own.", no_args_is_help=True)
app.add_typer(tags_app, name="tags")


@tags_app.command("list")
def tags_list_command(
    category: str = typer.Option("", help="only this category (basic, assets, holdings, …)"),
    tsv: bool = typer.Option(False, "--tsv", help="tab-separated lines with a header, for scripts"),
) -> None:
    """Every tag with its category, rule and customers on the latest counted day."""
    setup()
    from brokercrm.tags.selectors import coverage_latest, tag_rows

    coverage = coverage_latest()
    rows = tag_rows(category=category)
    if tsv:
        print("code\tname_zh\tname_en\tcategory\tcustom\tcustomers\tshare\trule")
        for r in rows:
            values = (r.code, r.name_zh, r.name_en, r.category, "custom" if r.custom else "builtin",
                      "" if r.customers is None else str(r.customers), "" if r.share is None else str(r.share), r.rule)
            print("\t".join(v.replace("\t", " ") for v in values))
        return
    day = f"customers {coverage.as_of}" if coverage.as_of else "customers"
    table = Table(title=f"{len(rows)} tags")
    table.add_column("code", no_wrap=True)
    for header in ("name", "category", "rule", day, "share %", ""):
        table.add_column(header)
    for r in rows:
        table.add_row(
            r.code, r.name_zh, r.category, r.rule,
            "" if r.customers is None else str(r.customers),
            "" if r.share is None else str(r.share),
            "custom" if r.custom else "",
        )  # fmt: skip
    console.print(table)


@tags_app.command("add")
def tags_add_command(
    file: Path = typer.Option(..., "--file", help="a TOML file of [[tag]] tables (the fields of builtin_tags.toml)"),
) -> None:
    """Add head office's tags from a file, all or none; the engine's problems are printed and a
    refused file exits 2. The pipeline computes the tags from its next run."""
    setup()
    from brokercrm.tags.services import TagRefused, custom_tags_create, read_tag_file

    try:
        entries = read_tag_file(file)
        created = custom_tags_create(actor=None, entries=entries, username="cli")
    except TagRefused as exc:
        for problem in exc.problems:
            console.print("[red]refused[/red]", end=" ")
            console.print(str(problem), markup=False, highlight=False)
        raise typer.Exit(code=2)
    for tag in created:
        console.print(f"[green]added[/green] {tag.code} {tag.name_zh} ({tag.category})")
    console.print("the pipeline computes them from its next run (brokercrm pipeline run)")


event_app = typer.Typer(help="Market events and their impact lists (proactive service).", no_args_is_help=True)
app.add_typer(event_app, name="event")
tasks_app = typer.Typer(help="Account managers' tasks.", no_args_is_help=True)
app.add_typer(tasks_app, name="tasks")


def _csv_items(text: Optional[str]) -> list[str]:
    return [v.strip() for v in text.split(",") if v.strip()] if text else []


@event_app.command("create")
def event_create_command(
    title: str = typer.Option(..., help="what happened"),
    securities: Optional[str] = typer.Option(None, help="affected securities, comma-separated: SH600000,SZ000001"),
    industries: Optional[str] = typer.Option(None, help="affected Shenwan industries, comma-separated: 银行"),
    direction: str = typer.Option(..., help="positive, negative or neutral"),
    impact: int = typer.Option(..., help="1 (slight) to 5 (severe)"),
    description: str = typer.Option("", help="details"),
    suggestion_c1_c2: str = typer.Option("", "--suggestion-c1-c2", help="what to tell C1–C2 customers"),
    suggestion_c3: str = typer.Option("", "--suggestion-c3", help="what to tell C3 customers"),
    suggestion_c4_c5: str = typer.Option("", "--suggestion-c4-c5", help="what to tell C4–C5 customers"),
    suggestion_professional: str = typer.Option("", "--suggestion-professional", help="what to tell professional investors"),
) -> None:
    """Record a market event; its impact list is frozen as of the latest published day. Prints the id."""
    setup()
    from django.core.exceptions import ValidationError

    from brokercrm.service.services import event_create

    try:
        event = event_create(
            actor=None,
            title=title,
            securities=_csv_items(securities),
            industries=_csv_items(industries),
            direction=direction,
            impact=impact,
            description=description,
            suggestions={
                "c1_c2": suggestion_c1_c2,
                "c3": suggestion_c3,
                "c4_c5": suggestion_c4_c5,
                "professional": suggestion_professional,
            },
            data_dir=_data_dir(),
        )
    except ValidationError as exc:
        _fail(" ".join(exc.messages))
    print(event.pk)


@export_app.command("event-impact")
def export_event_impact(
    event: int = typer.Option(..., help="event id (printed by `brokercrm event create`)"),
    out: Path = typer.Option(..., help="CSV file to write"),
) -> None:
    """The event's affected customers: rank, customer_no, account_manager, exposure, exposure_ratio, priority, suggestion."""
    setup()
    from brokercrm.service.models import MarketEvent
    from brokercrm.service.services import event_impact_export

    try:
        rows = event_impact_export(event_id=event, out=out)
    except MarketEvent.DoesNotExist:
        _fail(f"no event with id {event}")
    console.print(f"[green]wrote[/green] {rows} rows to {out}")


@tasks_app.command("escalate")
def tasks_escalate_command() -> None:
    """Mark open tasks past their due day, and service requests or complaints still open after
    their deadline, escalated (shown to the team lead)."""
    setup()
    _escalate()


def _escalate() -> None:
    from brokercrm.service.services import overdue_escalate

    tasks, requests = overdue_escalate()
    console.print(f"[green]escalated[/green] {tasks} overdue tasks, {requests} overdue service requests")


def main() -> None:
    """Entry point of the ``brokercrm`` console script."""
    sys.exit(app())


if __name__ == "__main__":  # pragma: no cover
    main()
