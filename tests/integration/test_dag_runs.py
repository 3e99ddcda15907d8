"""The operations DAGs run for real with dag.test() — Airflow's own task runner, metadata database
and XCom — against a real PostgreSQL and a fixture shop: a crawl DAG (its pool exists), the detect
DAG with dynamic task mapping, then verify_takedowns, housekeeping and rescan."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cluewatch.model import Mark, Registry
from sinks.registry_store import save_registry

pytestmark = pytest.mark.service
ROOT = Path(__file__).resolve().parents[2]


def run_dags(env, db_url, home, runs):
    done = subprocess.run([sys.executable, "-m", "tests.integration.airflow_runner", db_url, str(home),
                           json.dumps(runs)], env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    line = [l for l in done.stdout.splitlines() if l.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):]), done.stdout + done.stderr


def rows(db, query, args=()):
    with db.cursor() as cur:
        cur.execute(query, args)
        out = cur.fetchall() if cur.description else None
    db.commit()
    return out


def test_detect_mapping_takedowns_housekeeping_and_rescan_through_airflow(db_url, db, tmp_path):
    from tests.fixtures_sites import HostileSite, serve_hostile_site, sources_yaml

    save_registry(db, Registry(marks=(Mark(id="sprite", names=("Sprite", "雪碧"), reg_no="S-200"),),
                               sha256="a" * 64))
    db.commit()
    blobs = tmp_path / "blobs"
    with serve_hostile_site(HostileSite(hostile=False)) as site:
        sources = tmp_path / "sources.yaml"
        sources.write_text(sources_yaml(site.base_url), encoding="utf-8")
        env = dict(os.environ, CLUEWATCH_DATABASE_URL=db_url, CLUEWATCH_SOURCES=str(sources),
                   CLUEWATCH_HOME=str(tmp_path / "home"), CLUEWATCH_BLOB_STORE=str(blobs))
        env.pop("CLUEWATCH_REGISTRY", None)
        env["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "INFO"  # the structured cluewatch.* lines are INFO

        # 1. crawl → detect, mapped over batches of 3 listing versions.
        result, log = run_dags(env, db_url, tmp_path / "airflow",
                               [["crawl_hostile", {}], ["detect", {"batch_size": 3}]])
        assert result["crawl_hostile"]["state"] == "success", log[-3000:]
        listings = rows(db, "SELECT count(*) FROM listings")[0][0]
        assert listings == 10
        detect = result["detect"]
        assert detect["state"] == "success", log[-3000:]
        mapped = sorted(k for k in detect["tis"] if k.startswith("score_batch["))
        assert mapped == [f"score_batch[{i}]" for i in range(4)]  # 10 versions / 3 per batch
        assert all(state == "success" for state in detect["tis"].values())
        # every current version scored exactly once under this registry
        assert rows(db, "SELECT count(DISTINCT listing_version_id) FROM detection_runs")[0][0] == listings
        assert "cluewatch.detect.batch" in log and "cluewatch.detect.done" in log, log[-5000:]
        assert rows(db, "SELECT count(*) FROM scoring_versions")[0][0] == 1

        # 2. Officers confirm two listings; the platform takes one down. Everything gets old.
        for external_id in ("a1", "b1"):
            rows(db, """INSERT INTO suspects (listing_version_id, score, reasons, status)
                        SELECT current_version_id, 0.9, '{r}', 'confirmed' FROM listings
                        WHERE external_id = %s ON CONFLICT (listing_version_id) DO UPDATE SET status = 'confirmed'""",
                 (external_id,))
        site.gone.add("b1")
        rows(db, "UPDATE listing_versions SET created_at = now() - interval '400 days'")
        rows(db, "UPDATE listings SET removed_at = now() WHERE external_id IN ('a3', 'b1')")
        pages_before = rows(db, "SELECT count(*) FROM listing_versions WHERE page_path IS NOT NULL")[0][0]
        # A new registry version: rescan re-scores everything (a manual run limited by date here).
        save_registry(db, Registry(marks=(Mark(id="sprite", names=("Sprite", "雪碧", "雪碧汽水"), reg_no="S-200"),),
                                   sha256="b" * 64))
        db.commit()

        result, log = run_dags(env, db_url, tmp_path / "airflow", [
            ["verify_takedowns", {}],
            ["housekeeping", {"page_days": 30, "image_days": 30}],
            ["rescan", {"batch_size": 4, "since": "2000-01-01"}],
        ])
    assert result["verify_takedowns"]["state"] == "success", log[-3000:]
    checks = dict(rows(db, """SELECT l.external_id, c.status FROM takedown_checks c
                              JOIN listings l ON l.id = c.listing_id"""))
    assert checks == {"a1": "still_live", "b1": "removed"}
    assert "cluewatch.verify_takedowns.done" in log

    assert result["housekeeping"]["state"] == "success", log[-3000:]
    # a3 (removed, no suspect) loses its page; b1 (removed, but confirmed evidence) keeps it;
    # listings still online keep their current page.
    kept = dict(rows(db, """SELECT l.external_id, v.page_path IS NOT NULL FROM listing_versions v
                            JOIN listings l ON l.id = v.listing_id"""))
    assert kept["a3"] is False and kept["b1"] is True and kept["a1"] is True
    assert rows(db, "SELECT count(*) FROM listing_versions WHERE page_path IS NOT NULL")[0][0] == pages_before - 1
    assert "cluewatch.housekeeping.retention" in log

    rescan = result["rescan"]
    assert rescan["state"] == "success", log[-3000:]
    live = rows(db, "SELECT count(*) FROM listings WHERE removed_at IS NULL")[0][0]
    assert sorted(k for k in rescan["tis"] if k.startswith("score_batch[")) == ["score_batch[0]", "score_batch[1]"]
    assert rows(db, "SELECT count(DISTINCT listing_version_id) FROM detection_runs WHERE registry_sha256 = %s",
                ("b" * 64,))[0][0] == live
