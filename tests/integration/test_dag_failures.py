"""A task that really fails under Airflow is recorded where operators look.

The detect DAG runs with dag.test() (Airflow's own task runner, metadata database, retry handling
and failure callbacks) against a real PostgreSQL, with CLUEWATCH_REGISTRY pointing at a registry
file an operator broke: its first task, sync_registry, raises on every try. After the last retry,
and only then, the DAG's on_failure_callback (cluewatch.jobs.failures.record_task_failure) must
have written one pipeline_failures row, and `cluewatch status` must show it.

Run as a module, this file is the Airflow side (a fresh process: Airflow reads its configuration
once, at import):  python -m tests.integration.test_dag_failures DB_URL AIRFLOW_HOME DAG_ID"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RETRY_DELAY = timedelta(seconds=1)


def run_dag_with_short_retry_delay(db_url: str, home: str, dag_id: str) -> dict:
    from tests.integration.airflow_runner import dag_bag

    with dag_bag(db_url, home) as bag:
        dag = bag.get_dag(dag_id)
        # The DAG as shipped (retry count, backoff, callbacks), except the first retry delay: dag.test()
        # waits it out in real time, and the shipped 1 min doubling would make this test take minutes.
        for task in dag.tasks:
            task.retry_delay = RETRY_DELAY
        run = dag.test()
        return {
            "run_id": run.run_id,
            "state": str(getattr(run.state, "value", run.state)),
            "retries": {t.task_id: t.retries for t in dag.tasks},
            "tis": {ti.task_id: [str(getattr(ti.state, "value", ti.state)), ti.try_number]
                    for ti in run.get_task_instances()},
        }


@pytest.mark.service
def test_a_task_failing_after_its_retries_is_recorded_and_shown_by_status(db_url, db, tmp_path):
    registry = tmp_path / "registry.yaml"
    registry.write_text("marks:\n  - id: nike\n    reg_no: '100'\n", encoding="utf-8")  # no names, no logos
    env = dict(os.environ, CLUEWATCH_DATABASE_URL=db_url, CLUEWATCH_REGISTRY=str(registry),
               CLUEWATCH_SOURCES=str(tmp_path / "no-sources.yaml"), CLUEWATCH_HOME=str(tmp_path / "home"),
               CLUEWATCH_BLOB_STORE=str(tmp_path / "blobs"))
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "tests.integration.test_dag_failures", db_url,
                           str(tmp_path / "airflow"), "detect"],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=180)
    elapsed = time.monotonic() - started
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-5000:]
    result = json.loads([l for l in done.stdout.splitlines() if l.startswith("RESULT ")][-1][len("RESULT "):])
    print(f"detect DAG ran and failed in {elapsed:.1f} s: {result['tis']}")

    assert result["state"] == "failed", log[-3000:]
    retries = result["retries"]["sync_registry"]
    assert retries >= 1  # the shipped DAG retries: the failure must be recorded after the last try only
    state, tries = result["tis"]["sync_registry"]
    assert (state, tries) == ("failed", retries + 1), log[-3000:]
    assert result["tis"]["plan_batches"][0] == "upstream_failed"  # never ran: nothing to record

    with db.cursor() as cur:
        cur.execute("SELECT dag_id, task_id, run_id, map_index, try_number, error FROM pipeline_failures")
        failures = cur.fetchall()
    db.commit()
    assert len(failures) == 1, failures  # not one per try, and none for the upstream_failed tasks
    dag_id, task_id, run_id, map_index, try_number, error = failures[0]
    assert (dag_id, task_id, run_id, map_index, try_number) == ("detect", "sync_registry", result["run_id"], -1,
                                                                retries + 1)
    assert error == f"RegistryError: {registry}:2: marks[0] needs at least one of names, logos"
    assert "cluewatch.task_failed" in log and "sync_registry" in log

    status = subprocess.run([sys.executable, "-m", "cluewatch.cli", "status"], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert status.returncode == 0, status.stderr[-3000:]
    assert "task failures (last 7 days, after retries): 1" in status.stdout, status.stdout
    line = [l for l in status.stdout.splitlines() if "detect.sync_registry" in l]
    assert len(line) == 1, status.stdout
    assert f"try {retries + 1} ({result['run_id']}): RegistryError: {registry}:2: marks[0] needs at least one" in line[0]


if __name__ == "__main__":
    print("RESULT " + json.dumps(run_dag_with_short_retry_delay(*sys.argv[1:4]), default=str))
