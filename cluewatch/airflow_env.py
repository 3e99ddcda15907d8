"""Point an in-process Airflow at our PostgreSQL and DAG folder (demo, tests). Must run before the
first `import airflow`: Airflow reads its configuration once, at import."""
from __future__ import annotations

import os
import warnings
import subprocess
import sys
from pathlib import Path

from cluewatch.services.postgres import AIRFLOW_DATABASE, ensure_database, sqlalchemy_url
from cluewatch.settings import PROJECT_ROOT

DAGS_FOLDER = PROJECT_ROOT / "dags"


def configure(airflow_home: Path, metadata_url: str, env=os.environ) -> None:
    airflow_home.mkdir(parents=True, exist_ok=True)
    env["AIRFLOW_HOME"] = str(airflow_home)
    env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = sqlalchemy_url(metadata_url)
    env["AIRFLOW__CORE__DAGS_FOLDER"] = str(DAGS_FOLDER)
    env["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    env["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"
    env.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
    # dag.test() runs tasks through Starlette's test client, which warns about itself on every run.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")


def metadata_url_for(app_url: str) -> str:
    """Airflow's metadata lives in its own database on the same server as ours."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(app_url)
    ensure_database(app_url, AIRFLOW_DATABASE)
    return urlunsplit(parts._replace(path=f"/{AIRFLOW_DATABASE}"))


def migrate_metadata(env=os.environ) -> None:
    """`airflow db migrate` in a child process, so this process imports Airflow only afterwards."""
    airflow = Path(sys.executable).with_name("airflow")
    done = subprocess.run([str(airflow), "db", "migrate"], env=dict(env), capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed:\n{done.stderr[-3000:]}")



def ensure_pools(sources, *, slots: int = 1) -> list[str]:
    """Create the pool of each source's platform (cluewatch.jobs.crawl.pool_for_platform) that does
    not exist yet, with `slots` slots; existing pools are left as they are (an operator may have
    resized one with `airflow pools set`). Returns the pools created. Airflow must be configured
    (its metadata database reachable). The scheduler never starts a task whose pool is missing;
    dag.test() ignores pools, so the demo and tests create them anyway to run like production."""
    from airflow.models.pool import Pool

    from cluewatch.jobs.crawl import pool_for_platform

    created = []
    for platform in sorted({s.platform for s in sources}):
        name = pool_for_platform(platform)
        if name in created or Pool.get_pool(name) is not None:
            continue
        Pool.create_or_update_pool(name, slots, f"crawls of {platform} (cluewatch)", include_deferred=False)
        created.append(name)
    return created
