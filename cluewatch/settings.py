"""Settings, read once from the environment into one object.

| variable | meaning | default |
|---|---|---|
| CLUEWATCH_HOME | data dir (embedded PostgreSQL, Kafka data, caches) | ./var in the checkout |
| CLUEWATCH_DATABASE_URL | PostgreSQL URL; unset = start the embedded server | embedded |
| CLUEWATCH_KAFKA_BOOTSTRAP | Kafka bootstrap servers; unset = start a local broker | local broker |
| CLUEWATCH_SOURCES | sources.yaml the crawl DAGs are generated from | packaged demo sources |
| CLUEWATCH_REGISTRY | registry YAML the detect job reads when the DB has none | packaged demo registry |
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SUSPECTS_TOPIC = "cluewatch.suspects.v1"
TAKEDOWNS_TOPIC = "cluewatch.takedowns.v1"
DECISIONS_TOPIC = "cluewatch.decisions.v1"


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str | None
    kafka_bootstrap: str | None
    sources_file: Path | None
    registry_file: Path | None

    @classmethod
    def from_env(cls, env: dict | None = None) -> "Settings":
        env = os.environ if env is None else env
        home = Path(env.get("CLUEWATCH_HOME") or PROJECT_ROOT / "var").resolve()
        return cls(
            home=home,
            database_url=env.get("CLUEWATCH_DATABASE_URL") or None,
            kafka_bootstrap=env.get("CLUEWATCH_KAFKA_BOOTSTRAP") or None,
            sources_file=Path(env["CLUEWATCH_SOURCES"]) if env.get("CLUEWATCH_SOURCES") else None,
            registry_file=Path(env["CLUEWATCH_REGISTRY"]) if env.get("CLUEWATCH_REGISTRY") else None,
        )
