"""The ``brokercrm`` command for operators. Verbs are thin: parse, call one service, show progress.

Every verb works on a fresh data directory: it creates ``BROKERCRM_DATA_DIR`` and applies
pending migrations before doing its work.
"""

from __future__ import annotations

import getpass
import os
import sys
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="brokercrm — customer relationship management for securities brokerages.", no_args_is_help=True)
org_app = typer.Typer(help="The organisation tree.", no_args_is_help=True)
token_app = typer.Typer(help="REST API tokens.", no_args_is_help=True)
app.add_typer(org_app, name="org")
app.add_typer(token_app, name="token")
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
def demo(customers: int = typer.Option(300, help="demo customers to create on a fresh database")) -> None:
    """Load the demo organisation, logins and customers (safe to re-run)."""
    setup()
    from brokercrm.demo import DEMO_PASSWORD, DEMO_USERS, demo_load

    summary = demo_load(customers=customers)
    state = "loaded" if summary.created else "already loaded"
    console.print(f"[green]demo {state}[/green]: {summary.nodes} nodes, {summary.users} logins, {summary.customers} customers")
    table = Table("login", "password", "role", "who", title="demo logins")
    for username, display, role, _node in DEMO_USERS:
        table.add_row(username, DEMO_PASSWORD, role, display)
    console.print(table)


def main() -> None:
    """Entry point of the ``brokercrm`` console script."""
    sys.exit(app())


if __name__ == "__main__":  # pragma: no cover
    main()
