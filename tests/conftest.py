"""Shared fixtures: a real PostgreSQL (embedded, in a temp dir) and, via tests.kafka_fixtures, a real
Kafka broker. Each test that asks for `db_url` gets its own fresh, migrated database."""
from __future__ import annotations

import itertools
import os

import psycopg2
import pytest
from psycopg2 import sql

pytest_plugins = ["tests.kafka_fixtures"]

_TEMPLATE = "cluewatch_template"
_counter = itertools.count()


@pytest.fixture(scope="session", autouse=True)
def _blob_store_in_tmp(tmp_path_factory):
    """Crawls in tests (and their child processes) archive pages and images in a temp dir, never in
    the checkout's var/."""
    if "CLUEWATCH_BLOB_STORE" in os.environ:
        yield
        return
    os.environ["CLUEWATCH_BLOB_STORE"] = str(tmp_path_factory.mktemp("blobs"))
    yield
    os.environ.pop("CLUEWATCH_BLOB_STORE", None)


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory):
    """Admin URL of a PostgreSQL server: CLUEWATCH_TEST_DATABASE_ADMIN_URL, else an embedded one."""
    admin = os.environ.get("CLUEWATCH_TEST_DATABASE_ADMIN_URL")
    if admin:
        yield admin
        return
    from cluewatch.services.postgres import EmbeddedPostgres

    pg = EmbeddedPostgres(tmp_path_factory.mktemp("pg") / "data", delete_on_stop=True)
    try:
        yield pg.url("postgres")
    finally:
        pg.stop()


def _url_for(admin_url: str, database: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    return urlunsplit(urlsplit(admin_url)._replace(path=f"/{database}"))


def _admin(admin_url: str):
    conn = psycopg2.connect(admin_url)
    conn.autocommit = True
    return conn


@pytest.fixture(scope="session")
def migrated_template(pg_server):
    """A database migrated once with Alembic, cloned for every test (CREATE DATABASE … TEMPLATE)."""
    from sinks.db import migrate

    name = f"{_TEMPLATE}_{os.getpid()}"
    conn = _admin(pg_server)
    with conn.cursor() as cur:
        cur.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    migrate(_url_for(pg_server, name))
    yield name
    with conn.cursor() as cur:
        cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    conn.close()


@pytest.fixture
def db_url(pg_server, migrated_template):
    name = f"cw_test_{os.getpid()}_{next(_counter)}"
    conn = _admin(pg_server)
    with conn.cursor() as cur:
        cur.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(migrated_template)))
    yield _url_for(pg_server, name)
    with conn.cursor() as cur:
        cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    conn.close()


@pytest.fixture
def db(db_url):
    from sinks.db import connect

    conn = connect(db_url)
    yield conn
    conn.close()
