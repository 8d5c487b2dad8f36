"""Typed configuration: the one place that reads ``BROKERCRM_*`` environment variables.

Every setting has a sane default so that a fresh clone runs with nothing configured; production
sets ``BROKERCRM_DATABASE_URL`` (PostgreSQL), ``BROKERCRM_SECRET_KEY``, ``BROKERCRM_ALLOWED_HOSTS``
and ``BROKERCRM_HTTPS=1``.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path


def _flag(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw else default


@dataclass(frozen=True)
class Config:
    """brokercrm's configuration, read once from the environment."""

    #: where the embedded database, the warehouse, the secret key and static files live
    data_dir: Path
    #: a database URL (``postgres://…``); empty means SQLite under ``data_dir``
    database_url: str
    #: the warehouse engine: ``duckdb`` (embedded default) or ``spark``
    engine: str
    #: Spark master URL when ``engine == "spark"`` (``local[*]`` by default)
    spark_master: str
    #: trading days of indicator history and flows published to the database for pages
    publish_days: int
    debug: bool
    #: served over HTTPS: secure cookies, HSTS and the HTTPS redirect
    https: bool
    allowed_hosts: tuple[str, ...]
    #: minutes of inactivity after which a session expires
    session_idle_minutes: int
    #: failed logins (per username and address) before a lock-out
    login_failure_limit: int
    #: minutes a lock-out lasts
    login_lockout_minutes: int
    secret_key_env: str

    @property
    def secret_key(self) -> str:
        """The configured key, or one generated once and kept (mode 0600) in the data directory."""
        if self.secret_key_env:
            return self.secret_key_env
        path = self.data_dir / "secret_key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(50))
        return path.read_text().strip()


@lru_cache(maxsize=1)
def get_config() -> Config:
    """Read the environment once per process."""
    data_dir = Path(os.environ.get("BROKERCRM_DATA_DIR") or "var").expanduser().resolve()
    hosts = os.environ.get("BROKERCRM_ALLOWED_HOSTS") or "127.0.0.1,localhost,[::1]"
    engine = (os.environ.get("BROKERCRM_ENGINE") or "duckdb").strip().lower()
    if engine not in {"duckdb", "spark"}:
        raise ValueError(f"BROKERCRM_ENGINE must be duckdb or spark, not {engine!r}")
    return Config(
        data_dir=data_dir,
        database_url=os.environ.get("BROKERCRM_DATABASE_URL", "").strip(),
        engine=engine,
        spark_master=os.environ.get("BROKERCRM_SPARK_MASTER") or "local[*]",
        publish_days=_int("BROKERCRM_PUBLISH_DAYS", 60),
        debug=_flag("BROKERCRM_DEBUG"),
        https=_flag("BROKERCRM_HTTPS"),
        allowed_hosts=tuple(h.strip() for h in hosts.split(",") if h.strip()),
        session_idle_minutes=_int("BROKERCRM_SESSION_IDLE_MINUTES", 30),
        login_failure_limit=_int("BROKERCRM_LOGIN_FAILURE_LIMIT", 5),
        login_lockout_minutes=_int("BROKERCRM_LOGIN_LOCKOUT_MINUTES", 15),
        secret_key_env=os.environ.get("BROKERCRM_SECRET_KEY", ""),
    )
