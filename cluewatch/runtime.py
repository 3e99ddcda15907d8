"""Where the running pipeline finds its services: the env overrides, else the embedded defaults."""
from __future__ import annotations

from functools import lru_cache

from cluewatch.settings import Settings


class ServiceNotConfigured(RuntimeError):
    """A service the step needs has no address; the text says which variable to set."""


@lru_cache(maxsize=None)
def _embedded_database_url(home: str) -> str:
    from cluewatch.services.postgres import EmbeddedPostgres
    from sinks.db import migrate

    url = EmbeddedPostgres(f"{home}/postgres").url()
    migrate(url)
    return url


def database_url(settings: Settings | None = None) -> str:
    """CLUEWATCH_DATABASE_URL, else the embedded server under CLUEWATCH_HOME (started, migrated)."""
    settings = settings or Settings.from_env()
    if settings.database_url:
        return settings.database_url
    return _embedded_database_url(str(settings.home))


def kafka_bootstrap(settings: Settings | None = None) -> str:
    settings = settings or Settings.from_env()
    if not settings.kafka_bootstrap:
        # A broker started inside one task would die with it: publishing needs a standing cluster.
        raise ServiceNotConfigured(
            "CLUEWATCH_KAFKA_BOOTSTRAP is not set: point it at a Kafka cluster "
            "(`cluewatch demo` starts a local broker and sets it for its own run)")
    return settings.kafka_bootstrap


def sources_file(settings: Settings | None = None):
    settings = settings or Settings.from_env()
    return settings.sources_file or settings.home / "sources.yaml"
