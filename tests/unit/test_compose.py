"""docker-compose.yml (production) is complete and consistent with the code that runs inside it.

Parsed with PyYAML (merge keys `<<:` resolved), so it runs without Docker; when a compose binary is
on the machine, `compose config` validates the file against the Compose schema too.
"""
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from cluewatch.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "docker" / "Dockerfile"
README = ROOT / "README.md"

# The production services; README.md's "## Production (docker-compose)" table lists the same.
SERVICES = (
    "postgres",
    "kafka",
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "relay",
)
AIRFLOW_SERVICES = tuple(s for s in SERVICES if s.startswith("airflow-"))
AIRFLOW_DAEMONS = {  # service -> the `airflow` subcommand it runs
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-triggerer": "triggerer",
}
# The only ports published on the host (documented in the compose file's header).
PUBLISHED_PORTS = {"airflow-apiserver": {"8080"}}
DEPENDS_CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
# Dummy values for the variables the file requires (`${VAR:?...}`), to run `compose config`.
REQUIRED_ENV = ("POSTGRES_PASSWORD", "AIRFLOW_ADMIN_PASSWORD", "AIRFLOW_FERNET_KEY", "AIRFLOW_JWT_SECRET")


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def services(compose):
    return compose["services"]


def interpolate(value: str) -> str:
    """Resolve `${VAR:-default}` to its default and `${VAR:?msg}` / `${VAR}` to `VAR`, as compose
    would with VAR set to its own name: enough to parse the URLs the values build."""
    return re.sub(r"\$\{([A-Z0-9_]+)(?::?-([^}]*)|:?\?[^}]*)?\}",
                  lambda m: m.group(2) if m.group(2) is not None else m.group(1), value)


def env_of(service) -> dict:
    env = service.get("environment") or {}
    if isinstance(env, list):  # the `- NAME=value` form
        env = dict(item.split("=", 1) for item in env)
    return {k: interpolate(str(v)) for k, v in env.items()}


def command_text(service) -> str:
    cmd = service.get("command") or ""
    return " ".join(cmd) if isinstance(cmd, list) else cmd


def test_every_service_exists(services):
    assert set(SERVICES) <= set(services), set(SERVICES) - set(services)
    # And nothing unlisted sneaks in: the README table must be able to describe every service.
    assert set(services) == set(SERVICES)


def test_every_service_is_health_checked_or_waits_on_a_condition(services):
    for name in SERVICES:
        service = services[name]
        depends = service.get("depends_on") or {}
        assert isinstance(depends, dict), f"{name}: depends_on must use the long form with conditions"
        for target, spec in depends.items():
            assert target in services, f"{name} depends on unknown service {target}"
            assert spec.get("condition") in DEPENDS_CONDITIONS, f"{name} -> {target}: {spec}"
        has_check = "healthcheck" in service and service["healthcheck"].get("test")
        assert has_check or depends, f"{name} has neither a healthcheck nor a depends_on condition"


def test_long_running_services_have_healthchecks(services):
    for name in ("postgres", "kafka", *AIRFLOW_DAEMONS):
        test = services[name].get("healthcheck", {}).get("test")
        assert test and test[0] in ("CMD", "CMD-SHELL"), name
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]


def test_airflow_daemons_run_their_component_and_wait_for_init(services):
    for name, subcommand in AIRFLOW_DAEMONS.items():
        assert command_text(services[name]).split()[:2] == ["airflow", subcommand], name
        depends = services[name]["depends_on"]
        assert depends["airflow-init"]["condition"] == "service_completed_successfully"
        assert depends["postgres"]["condition"] == "service_healthy"
        assert services[name].get("restart") in ("always", "unless-stopped")


def test_airflow_init_migrates_and_creates_the_admin(services):
    init = services["airflow-init"]
    script = command_text(init)
    assert "airflow db migrate" in script
    assert "cluewatch db upgrade" in script  # our own schema, before the relay and tasks use it
    assert "SIMPLE_AUTH_MANAGER_PASSWORDS_FILE" in script
    assert init["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert init.get("restart") == "no"


def test_airflow_services_share_one_metadata_db_in_its_own_database(services):
    urls = {env_of(services[name]).get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN") for name in AIRFLOW_SERVICES}
    assert len(urls) == 1 and None not in urls, urls
    url = urlsplit(urls.pop())
    assert url.hostname == "postgres" and url.path == "/airflow"
    app_db = urlsplit(env_of(services["relay"])["CLUEWATCH_DATABASE_URL"]).path
    assert app_db != url.path  # Airflow's tables never mix with ours


def test_airflow_services_agree_on_executor_and_secrets(services):
    for key in ("AIRFLOW__CORE__EXECUTOR", "AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL", "AIRFLOW__CORE__DAGS_FOLDER"):
        values = {env_of(services[name]).get(key) for name in AIRFLOW_SERVICES}
        assert len(values) == 1 and None not in values, (key, values)
    assert env_of(services["airflow-scheduler"])["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert "airflow-apiserver:8080" in env_of(services["airflow-scheduler"])["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"]


def test_dags_are_mounted_where_airflow_reads_them(services):
    for name in AIRFLOW_SERVICES:
        folder = env_of(services[name])["AIRFLOW__CORE__DAGS_FOLDER"]
        assert any(v.split(":")[:2] == ["./dags", folder] for v in services[name]["volumes"]), name


def test_relay_env_is_what_settings_reads(services):
    relay = services["relay"]
    assert command_text(relay).split()[:2] == ["cluewatch", "relay"]
    env = env_of(relay)
    settings = Settings.from_env(env)
    assert settings.database_url == env["CLUEWATCH_DATABASE_URL"]
    assert settings.kafka_bootstrap == env["CLUEWATCH_KAFKA_BOOTSTRAP"] == "kafka:9092"
    assert urlsplit(settings.database_url).hostname == "postgres"
    for target in ("postgres", "kafka"):
        assert relay["depends_on"][target]["condition"] == "service_healthy"


def test_app_services_use_every_cluewatch_variable_settings_knows(services):
    """Each CLUEWATCH_* name in the file is one settings.py documents, and vice versa for the relay."""
    known = set(re.findall(r"\bCLUEWATCH_[A-Z_]+", (ROOT / "cluewatch" / "settings.py").read_text()))
    for name in ("relay", *AIRFLOW_SERVICES):
        used = {k for k in env_of(services[name]) if k.startswith("CLUEWATCH_")}
        assert used <= known, (name, used - known)
    assert {"CLUEWATCH_DATABASE_URL", "CLUEWATCH_KAFKA_BOOTSTRAP"} <= set(env_of(services["relay"]))


def test_kafka_is_the_official_image_in_kraft_mode(services):
    kafka = services["kafka"]
    image, _, tag = kafka["image"].partition(":")
    assert image == "apache/kafka"
    env = env_of(kafka)
    assert "controller" in env["KAFKA_PROCESS_ROLES"] and "broker" in env["KAFKA_PROCESS_ROLES"]
    assert "PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
    try:
        from cluewatch.services.kafka_broker import KAFKA_VERSION
    except ImportError:
        return
    # Production runs the broker version the tests run against.
    assert tag == KAFKA_VERSION


def test_postgres_is_the_official_image_with_a_volume(services):
    pg = services["postgres"]
    assert pg["image"].split(":")[0] == "postgres"
    assert any(v.endswith(":/var/lib/postgresql/data") for v in pg["volumes"])
    init_dir = next(v.split(":")[0] for v in pg["volumes"] if "/docker-entrypoint-initdb.d" in v)
    scripts = "".join(p.read_text() for p in (ROOT / init_dir).iterdir())
    assert "CREATE DATABASE airflow" in scripts
    from cluewatch.services.postgres import AIRFLOW_DATABASE  # the same name the demo uses

    assert AIRFLOW_DATABASE == "airflow"


def test_only_documented_ports_are_published(services):
    header = COMPOSE_FILE.read_text(encoding="utf-8").split("\nservices:", 1)[0]
    for name, service in services.items():
        published = {str(p).rsplit(":", 1)[-1].split("/")[0] for p in service.get("ports", [])}
        assert published <= PUBLISHED_PORTS.get(name, set()), (name, published)
    assert "only the Airflow UI/API is published" in header


def test_every_variable_the_file_reads_is_documented_in_its_header():
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    header = text.split("\nx-", 1)[0]
    body = text[len(header):]
    variables = set(re.findall(r"(?<!\$)\$\{([A-Z_][A-Z0-9_]*)", body))
    assert variables, "expected ${VAR} references"
    undocumented = {v for v in variables if not re.search(rf"^# \| {v}\b", header, re.M)}
    assert not undocumented


def test_app_image_is_built_from_the_dockerfile_with_constraints(services):
    for name in ("relay", *AIRFLOW_SERVICES):
        build = services[name]["build"]
        assert (ROOT / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE
    dockerfile = DOCKERFILE.read_text()
    assert re.search(r"^FROM python:3\.11-slim\s*$", dockerfile, re.M)
    assert "--constraint constraints.txt" in dockerfile


def _readme_services():
    """Service names in the first column of the README's production table, or None if absent."""
    if not README.is_file():
        return None
    text = README.read_text(encoding="utf-8")
    section = re.search(r"^## Production \(docker-compose\)\s*$(.*?)(?=^## |\Z)", text, re.M | re.S)
    if not section:
        return None
    rows = [line for line in section.group(1).splitlines() if line.strip().startswith("|")]
    names = []
    for row in rows[2:]:  # skip the header and the |---| line
        cell = row.strip().strip("|").split("|")[0].strip().strip("`* ")
        if cell:
            names.append(cell)
    return names or None


def test_readme_production_table_matches_the_services(services):
    names = _readme_services()
    if names is None:
        pytest.skip("README.md has no '## Production (docker-compose)' table yet")
    assert set(names) <= set(services), set(names) - set(services)
    assert set(SERVICES) <= set(names), set(SERVICES) - set(names)


def _compose_command():
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    return None


def test_compose_config_validates_when_a_compose_binary_exists(tmp_path):
    cmd = _compose_command()
    if cmd is None:
        pytest.skip("no docker compose / docker-compose on this machine")
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(tmp_path),
           **{name: "dummy" for name in REQUIRED_ENV}}
    done = subprocess.run([*cmd, "-f", str(COMPOSE_FILE), "config", "-q"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    # Without the secrets the file refuses to start instead of running with empty passwords.
    env.pop("POSTGRES_PASSWORD")
    done = subprocess.run([*cmd, "-f", str(COMPOSE_FILE), "config", "-q"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "POSTGRES_PASSWORD" in done.stderr
