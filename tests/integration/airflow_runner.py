"""Run DAGs once each with dag.test() in a fresh process (Airflow reads its configuration once, at
import, so a test process that may already have imported airflow cannot re-point it):

    python -m tests.integration.airflow_runner DB_URL AIRFLOW_HOME '[["detect", {"batch_size": 2}], ...]'

Prints `RESULT {dag_id: {"state": ..., "tis": {"task[map_index]": state}}}`.
The CLUEWATCH_* environment (sources, blob store...) is the caller's."""
from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def dag_bag(db_url: str, home: str):
    """Airflow configured on `db_url`'s server with its metadata migrated, and the project's DAGs
    loaded (import errors raise); the ORM is disposed afterwards."""
    from cluewatch import airflow_env

    airflow_env.configure(Path(home), airflow_env.metadata_url_for(db_url))
    airflow_env.migrate_metadata()
    from airflow.dag_processing.dagbag import DagBag
    from airflow.settings import dispose_orm

    try:
        bag = DagBag(dag_folder=str(airflow_env.DAGS_FOLDER))
        if bag.import_errors:
            raise RuntimeError(f"DAG import errors: {bag.import_errors}")
        yield bag
    finally:
        dispose_orm()


def main(db_url: str, home: str, runs: list) -> dict:
    from cluewatch import airflow_env
    from cluewatch.runtime import sources_file
    from cluewatch.sources import load_sources

    with dag_bag(db_url, home) as bag:
        if sources_file().is_file():
            airflow_env.ensure_pools(load_sources(sources_file()))
        out = {}
        for dag_id, conf in runs:
            run = bag.get_dag(dag_id).test(run_conf=conf)
            tis = run.get_task_instances()
            out[dag_id] = {
                "state": str(getattr(run.state, "value", run.state)),
                "tis": {f"{ti.task_id}[{ti.map_index}]": str(getattr(ti.state, "value", ti.state)) for ti in tis},
            }
        return out


if __name__ == "__main__":
    result = main(sys.argv[1], sys.argv[2], json.loads(sys.argv[3]))
    print("RESULT " + json.dumps(result, default=str))
