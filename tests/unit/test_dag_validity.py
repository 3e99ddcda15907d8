"""DAG files parse without errors and without touching a database or the network at import time.

The DagBag is built in a child process whose database URLs point nowhere and whose sockets and
psycopg2 refuse to connect: any import-time I/O becomes an import error this test reports.
"""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = textwrap.dedent("""
    import json, socket, sys
    import psycopg2

    def refuse(*args, **kwargs):
        raise RuntimeError("I/O at DAG import time: " + repr(args[:2]))

    socket.socket.connect = refuse
    socket.create_connection = refuse
    psycopg2.connect = refuse

    from airflow.dag_processing.dagbag import DagBag
    bag = DagBag(dag_folder=sys.argv[1])
    out = {"errors": {k: str(v) for k, v in bag.import_errors.items()}, "dags": {}}
    for dag_id, dag in bag.dags.items():
        out["dags"][dag_id] = {
            "schedule": dag.schedule if isinstance(dag.schedule, (str, type(None))) else repr(dag.schedule),
            "tags": sorted(dag.tags),
            "tasks": [t.task_id for t in dag.tasks],
            "retries": [t.retries for t in dag.tasks],
            "outlets": [[o.name for o in t.outlets] for t in dag.tasks],
            "catchup": dag.catchup,
            "max_active_runs": dag.max_active_runs,
            "params": sorted(dag.params.keys()),
            "owners": sorted({t.owner for t in dag.tasks}),
            "pools": {t.task_id: t.pool for t in dag.tasks},
            "mapped": sorted(t.task_id for t in dag.tasks if "Mapped" in type(t).__name__),
            "backoff": [t.retry_exponential_backoff for t in dag.tasks],
            "max_retry_delay": [t.max_retry_delay.total_seconds() if t.max_retry_delay else None
                                for t in dag.tasks],
            "execution_timeout": [t.execution_timeout.total_seconds() if t.execution_timeout else None
                                  for t in dag.tasks],
            "failure_callbacks": [[f"{c.__module__}.{c.__qualname__}" for c in t.on_failure_callback]
                                  for t in dag.tasks],
            "upstream": {t.task_id: sorted(t.upstream_task_ids) for t in dag.tasks},
        }
    print("RESULT " + json.dumps(out))
""")


def parse_dags(tmp_path, sources=ROOT / "tests/data/sources.yaml"):
    env = dict(os.environ)
    env.update(
        AIRFLOW_HOME=str(tmp_path / "airflow"),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="postgresql+psycopg2://nobody@/nowhere?host=/nonexistent",
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
        CLUEWATCH_DATABASE_URL="postgresql://nobody@/nowhere?host=/nonexistent",
        CLUEWATCH_KAFKA_BOOTSTRAP="127.0.0.1:9",
        CLUEWATCH_SOURCES=str(sources),
        CLUEWATCH_HOME=str(tmp_path / "home"),
    )
    done = subprocess.run([sys.executable, "-c", PROBE, str(ROOT / "dags")], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    line = [l for l in done.stdout.splitlines() if l.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


ALL_DAGS = {"crawl_test-shop", "crawl_test-fair", "crawl_test-market", "detect", "publish", "rescan",
            "housekeeping", "verify_takedowns"}
RECORD_FAILURE = "cluewatch.jobs.failures.record_task_failure"


def test_dags_import_cleanly_and_are_wired(tmp_path):
    result = parse_dags(tmp_path)
    assert result["errors"] == {}
    dags = result["dags"]
    assert set(dags) == ALL_DAGS
    # crawl DAGs follow sources.yaml schedules and update the listings asset
    assert dags["crawl_test-shop"]["schedule"] == "@hourly"
    assert dags["crawl_test-fair"]["schedule"] == "30 2 * * *"
    assert dags["crawl_test-market"]["schedule"] is None
    assert dags["crawl_test-shop"]["outlets"] == [["cluewatch_listings"]]
    assert "tradefair" in dags["crawl_test-fair"]["tags"]
    # detect runs on the listings asset and feeds the outbox asset, which schedules publish
    assert "cluewatch_listings" in dags["detect"]["schedule"]
    assert dict(zip(dags["detect"]["tasks"], dags["detect"]["outlets"])) == {
        "sync_registry": ["cluewatch_registry_changes"], "plan_batches": [], "score_batch": [],
        "report": ["cluewatch_outbox"]}
    assert "cluewatch_outbox" in dags["publish"]["schedule"]
    # rescan runs on the registry asset the detect DAG emits through its alias
    assert "cluewatch_registry" in dags["rescan"]["schedule"]
    assert dict(zip(dags["rescan"]["tasks"], dags["rescan"]["outlets"]))["report"] == ["cluewatch_outbox"]
    for dag in dags.values():
        assert dag["catchup"] is False and dag["max_active_runs"] == 1
        assert all(r >= 1 for r in dag["retries"]), "every task retries at least once"
        assert "cluewatch" in dag["tags"]
        assert dag["owners"] == ["cluewatch"]
        assert all(b == 2.0 for b in dag["backoff"]), "retries back off exponentially"
        assert all(d for d in dag["max_retry_delay"]) and all(t for t in dag["execution_timeout"])
        assert all(RECORD_FAILURE in cbs for cbs in dag["failure_callbacks"]), "failures are recorded"


def test_crawls_share_a_pool_per_platform_and_scoring_is_mapped(tmp_path):
    dags = parse_dags(tmp_path)["dags"]
    assert dags["crawl_test-shop"]["pools"] == {"crawl": "crawl_testshop"}
    assert dags["crawl_test-fair"]["pools"] == {"crawl": "crawl_testfair"}
    assert dags["crawl_test-shop"]["params"] == ["max_pages"]
    # takedown recrawls go through the same per-platform pools as the crawls
    assert dags["verify_takedowns"]["pools"] == {
        "verify_test-shop": "crawl_testshop", "verify_test-fair": "crawl_testfair",
        "verify_test-market": "crawl_testmarket"}
    for dag_id in ("detect", "rescan"):
        assert dags[dag_id]["mapped"] == ["score_batch"]
        assert dags[dag_id]["upstream"]["score_batch"] == ["plan_batches"]
        assert dags[dag_id]["upstream"]["report"] == ["score_batch"]
        assert dags[dag_id]["params"] == ["batch_size", "mark_id", "since", "until"]
    assert dags["detect"]["upstream"]["plan_batches"] == ["sync_registry"]
    assert dags["housekeeping"]["params"] == ["dry_run", "image_days", "page_days"]


def test_missing_sources_file_gives_no_crawl_dags_but_no_error(tmp_path):
    result = parse_dags(tmp_path, sources=tmp_path / "absent.yaml")
    assert result["errors"] == {}
    assert set(result["dags"]) == {"detect", "publish", "rescan", "housekeeping", "verify_takedowns"}
