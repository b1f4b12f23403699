"""docker-compose.yml and the Dockerfile, checked by reading them: no Docker engine runs here."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url

from models.contract import DATETIME_ATTRIBUTES, KEYWORD_ATTRIBUTES
from runtime.settings import Settings
from store.secret_box import SecretBox

REPO = Path(__file__).resolve().parents[2]
EXPECTED_SERVICES = {
    "postgresql",
    "temporal-schema",
    "temporal",
    "temporal-search-attributes",
    "temporal-ui",
    "partnerflow-db-init",
    "partnerflow-worker",
    "partnerflow-api",
}
ONE_SHOT = {"temporal-schema", "temporal-search-attributes", "partnerflow-db-init"}
VARIABLE = re.compile(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}")
SECRET_KEY = Fernet.generate_key().decode()
SET = {"PARTNERFLOW_SECRET_KEY": SECRET_KEY}
"""What an operator must set: compose refuses to start without it."""


class Unset(Exception):
    """A variable required by `${X:?message}` is not set: compose stops with the message."""


def _resolve(match: re.Match[str], variables: dict[str, str]) -> str:
    name, operator, word = match.groups()
    if variables.get(name):
        return variables[name]
    if operator == ":?":
        raise Unset(name, word)
    return word or ""


def _interpolate(value: Any, variables: dict[str, str] = SET) -> str:
    """A value as compose resolves it with only `variables` set: `${X:-d}` is d, `$$` is `$`,
    `${X:?message}` raises Unset when X is not set."""
    return VARIABLE.sub(lambda m: _resolve(m, variables), str(value)).replace("$$", "$")


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    return dict(compose["services"])


def _script(service: dict[str, Any]) -> str:
    command = service["command"]
    return _interpolate(command if isinstance(command, str) else " ".join(command))


def _depends(service: dict[str, Any]) -> dict[str, str]:
    return {name: spec["condition"] for name, spec in service.get("depends_on", {}).items()}


def test_the_stack_has_its_services(services):
    assert set(services) == EXPECTED_SERVICES
    images = [_interpolate(s["image"]) for s in services.values()]
    assert not any("auto-setup" in image for image in images)


def test_every_dependency_exists_and_waits_for_the_right_condition(services):
    for name, service in services.items():
        for dependency, condition in _depends(service).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            expected = (
                "service_completed_successfully" if dependency in ONE_SHOT else "service_healthy"
            )
            assert condition == expected, f"{name} -> {dependency}"
            if condition == "service_healthy":
                assert "healthcheck" in services[dependency], dependency


def test_one_shot_jobs_are_retried_on_failure_only(services):
    for name in ONE_SHOT:
        assert services[name]["restart"].startswith("on-failure"), name


def test_postgresql_holds_a_separate_partnerflow_database(services):
    postgresql = services["postgresql"]
    assert _interpolate(postgresql["image"]).startswith("postgres:")
    assert postgresql["environment"]["POSTGRES_DB"] == "partnerflow"
    assert "pg_isready" in " ".join(postgresql["healthcheck"]["test"])


def test_temporal_runs_on_postgresql_with_its_schema_set_up_first(services):
    schema = services["temporal-schema"]
    assert _interpolate(schema["image"]).startswith("temporalio/admin-tools:")
    script = _script(schema)
    assert "temporal-sql-tool --plugin postgres12" in script
    assert "setup temporal temporal" in script and "setup temporal_visibility visibility" in script
    assert _depends(schema) == {"postgresql": "service_healthy"}

    temporal = services["temporal"]
    assert _interpolate(temporal["image"]).startswith("temporalio/server:")
    assert temporal["environment"]["DB"] == "postgres12"
    assert temporal["environment"]["POSTGRES_SEEDS"] == "postgresql"
    assert _depends(temporal) == {"temporal-schema": "service_completed_successfully"}
    assert "7233:7233" in temporal["ports"]


def test_the_search_attributes_are_those_of_the_contract(services):
    job = services["temporal-search-attributes"]
    assert _interpolate(job["image"]).startswith("temporalio/admin-tools:")
    assert job["environment"]["TEMPORAL_ADDRESS"] == "temporal:7233"
    script = _script(job)
    assert "temporal operator search-attribute create" in script
    created = dict(re.findall(r"--name (\w+) --type (\w+)", script))
    assert created == {name.value: "Keyword" for name in KEYWORD_ATTRIBUTES} | {
        name.value: "Datetime" for name in DATETIME_ATTRIBUTES
    }


def test_the_ui_is_on_port_8233(services):
    ui = services["temporal-ui"]
    assert _interpolate(ui["image"]).startswith("temporalio/ui:")
    assert ui["ports"] == ["8233:8080"]
    assert ui["environment"]["TEMPORAL_ADDRESS"] == "temporal:7233"


@pytest.mark.parametrize("name", ["partnerflow-db-init", "partnerflow-worker", "partnerflow-api"])
def test_partnerflow_is_configured_by_environment(services, name):
    service = services[name]
    assert service["build"] == "."
    environment = {k: _interpolate(v) for k, v in service["environment"].items()}
    assert set(environment) == {
        "PARTNERFLOW_DATABASE_URL",
        "TEMPORAL_ADDRESS",
        "TEMPORAL_NAMESPACE",
        "PARTNERFLOW_LOG_FORMAT",
    } | ({"PARTNERFLOW_METRICS_ADDRESS"} if name == "partnerflow-worker" else set()) | (
        {"PARTNERFLOW_SECRET_KEY"} if name != "partnerflow-db-init" else set()
    )
    Settings.model_validate(environment)  # every value is one partnerflow accepts
    assert environment["PARTNERFLOW_LOG_FORMAT"] == "json"
    url = make_url(environment["PARTNERFLOW_DATABASE_URL"])
    assert (url.drivername, url.host, url.port, url.database) == (
        "postgresql+psycopg",
        "postgresql",
        5432,
        "partnerflow",
    )
    assert url.password == _interpolate(services["postgresql"]["environment"]["POSTGRES_PASSWORD"])
    host, port = environment["TEMPORAL_ADDRESS"].split(":")
    assert host in services and f"{port}:{port}" in services[host]["ports"]
    assert environment["TEMPORAL_NAMESPACE"] == "default"


@pytest.mark.parametrize("name", ["partnerflow-worker", "partnerflow-api"])
def test_the_worker_and_the_api_get_the_secret_key_the_operator_must_set(services, name):
    value = services[name]["environment"]["PARTNERFLOW_SECRET_KEY"]
    assert _interpolate(value) == SECRET_KEY  # the operator's key, as it is
    rotating = f"{Fernet.generate_key().decode()},{SECRET_KEY}"
    assert _interpolate(value, {"PARTNERFLOW_SECRET_KEY": rotating}) == rotating
    assert len(SecretBox.parse(_interpolate(value, {"PARTNERFLOW_SECRET_KEY": rotating})).keys) == 2
    with pytest.raises(Unset) as unset:
        _interpolate(value, {})
    variable, message = unset.value.args
    assert variable == "PARTNERFLOW_SECRET_KEY"
    assert "PARTNERFLOW_SECRET_KEY" in message and "partnerflow secrets new-key" in message


def test_the_worker_and_the_api_share_one_key_and_the_migration_needs_none(services):
    worker, api = services["partnerflow-worker"], services["partnerflow-api"]
    key = worker["environment"]["PARTNERFLOW_SECRET_KEY"]
    assert api["environment"]["PARTNERFLOW_SECRET_KEY"] == key
    assert "PARTNERFLOW_SECRET_KEY" not in services["partnerflow-db-init"]["environment"]


def test_the_worker_starts_after_the_schema_and_the_search_attributes(services):
    worker = services["partnerflow-worker"]
    assert worker["command"] == ["partnerflow", "worker"]
    assert _depends(worker) == {
        "partnerflow-db-init": "service_completed_successfully",
        "temporal-search-attributes": "service_completed_successfully",
    }
    assert services["partnerflow-db-init"]["command"] == ["partnerflow", "db", "upgrade"]


def test_the_api_listens_on_port_8000_after_the_schema(services):
    api = services["partnerflow-api"]
    assert api["command"] == ["partnerflow", "api", "--host", "0.0.0.0", "--port", "8000"]
    assert api["ports"] == ["8000:8000"]
    assert _depends(api) == _depends(services["partnerflow-worker"])
    probe = " ".join(api["healthcheck"]["test"])
    # Ready, not merely up: the database at this version's schema, and Temporal, answer.
    assert "urlopen('http://127.0.0.1:8000/health/ready'" in probe
    assert "/openapi.json" not in probe


def test_each_worker_serves_metrics_on_its_own_port(services):
    worker = services["partnerflow-worker"]
    host, port = worker["environment"]["PARTNERFLOW_METRICS_ADDRESS"].split(":")
    assert host == "0.0.0.0"
    # A container port alone: `--scale` gives each replica its own host port.
    assert worker["ports"] == [port]
    assert f"http://127.0.0.1:{port}/metrics" in " ".join(worker["healthcheck"]["test"])


def test_the_dockerfile_installs_every_package():
    dockerfile = (REPO / "Dockerfile").read_text()
    assert dockerfile.startswith("#") and "FROM python:3.11-slim" in dockerfile
    assert "RUN pip install ." in dockerfile
    assert 'CMD ["partnerflow", "worker"]' in dockerfile
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    packages = [
        p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    ]
    for package in packages:
        assert f"COPY {package} {package}" in dockerfile
    assert "partnerflow" in pyproject["project"]["scripts"]
