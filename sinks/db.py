"""Connections and schema migrations for the cluewatch database."""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

import psycopg2
import psycopg2.extras

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def connect(url: str):
    """A psycopg2 connection; callers own commit/rollback (one transaction per unit of work)."""
    conn = psycopg2.connect(url, application_name="cluewatch")
    psycopg2.extras.register_default_jsonb(conn)
    return conn


@contextlib.contextmanager
def transaction(url_or_conn) -> Iterator:
    """Yield a connection inside one transaction: commit on success, roll back on error."""
    own = isinstance(url_or_conn, str)
    conn = connect(url_or_conn) if own else url_or_conn
    try:
        yield conn
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        if own:
            conn.close()


def alembic_config(url: str):
    from alembic.config import Config

    from cluewatch.services.postgres import sqlalchemy_url

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation treats % specially; URLs may contain %-escapes.
    cfg.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    return cfg


def migrate(url: str, revision: str = "heads") -> None:
    """Bring the schema to `revision` ("heads": every branch, so parallel feature migrations can land before they are linearised; idempotent)."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)
