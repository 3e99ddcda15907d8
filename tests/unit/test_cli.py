"""The command line as a user meets it: help texts, exit codes, errors without tracebacks."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "cluewatch.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("args", [[], ["demo"], ["db", "upgrade"], ["registry", "check"],
                                  ["registry", "load"], ["detect"], ["relay"], ["match", "text"],
                                  ["eval", "text"], ["extract"], ["status"]])
def test_help_texts(args):
    done = cli(*args, "--help")
    assert done.returncode == 0 and "usage: cluewatch" in done.stdout


def test_registry_check_reports_file_and_line(tmp_path):
    bad = tmp_path / "registry.yaml"
    bad.write_text("marks:\n  - id: Bad Id\n    names: [x]\n", encoding="utf-8")
    done = cli("registry", "check", str(bad))
    assert done.returncode == 1
    assert f"{bad}:2:" in done.stderr and "Traceback" not in done.stderr


def test_registry_check_valid_file():
    done = cli("registry", "check", str(ROOT / "tests/data/registry/valid.yaml"))
    assert done.returncode == 0, done.stderr
    assert "valid" in done.stdout


def test_relay_without_kafka_says_what_to_set(tmp_path):
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("CLUEWATCH_")}
    env["CLUEWATCH_HOME"] = str(tmp_path)
    done = cli("relay", "--once", env=env)
    assert done.returncode == 2
    assert "CLUEWATCH_KAFKA_BOOTSTRAP" in done.stderr and "Traceback" not in done.stderr


def test_unreachable_database_is_one_clear_line(tmp_path):
    import os

    env = dict(os.environ, CLUEWATCH_DATABASE_URL=f"postgresql://nobody@/none?host={tmp_path}",
               CLUEWATCH_HOME=str(tmp_path))
    done = cli("detect", env=env)
    assert done.returncode == 1
    assert "cannot use PostgreSQL" in done.stderr and "Traceback" not in done.stderr
