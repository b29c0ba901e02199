"""docker-compose.yml against the Compose specification's JSON schema, plus this deployment's rules.

No Docker engine is needed: the file is loaded with PyYAML and checked with jsonschema against the
vendored schema (core/tests/data/README.md). The Dockerfile and .env.example are checked as text.
"""

import copy
import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = Path(__file__).parent / "data" / "compose-spec.json"
APP_SERVICES = ("web", "worker", "scheduler")
SINGLETONS = ("worker", "scheduler")
X_ACCEL_LOCATION = "/protected-attachments/"


def load_compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def schema_errors(compose: dict) -> list[str]:
    schema = json.loads(SCHEMA.read_text())
    validator_class = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    validator = validator_class(schema)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(compose)]


def volume_sources(service: dict) -> list[str]:
    """The source of each mount, short ("src:dst[:mode]") or long ({"source": ...}) syntax."""
    sources = []
    for volume in service.get("volumes", []):
        sources.append(volume.get("source", "") if isinstance(volume, dict) else volume.split(":", 1)[0])
    return sources


def rule_violations(compose: dict) -> list[str]:
    """This deployment's rules, beyond what the schema can say."""
    problems = []
    services = compose.get("services", {})
    named = set(compose.get("volumes") or {})
    for name in ("db", "redis", "migrate", *APP_SERVICES, "nginx"):
        if name not in services:
            problems.append(f"service {name} is missing")
    if problems:
        return problems
    if "version" in compose:
        problems.append("the obsolete top-level version key is set")

    for name in SINGLETONS:
        service = services[name]
        replicas = service.get("deploy", {}).get("replicas", 1)
        if replicas != 1 or service.get("scale", 1) != 1:
            problems.append(f"{name} must run exactly once (replicas {replicas}, scale {service.get('scale')})")

    # State only in named volumes: the database, the uploads, the static files.
    for service_name, target in (("db", "/var/lib/postgresql/data"), ("web", "/app/var/attachments")):
        mounts = services[service_name].get("volumes", [])
        if not any(isinstance(m, str) and m.split(":")[1:2] == [target] and m.split(":")[0] in named for m in mounts):
            problems.append(f"{service_name} must keep {target} on a named volume")
    for service_name, service in services.items():
        for source in volume_sources(service):
            if not source.startswith((".", "/")) and source not in named:
                problems.append(f"{service_name} mounts {source}, which is not a declared named volume")
    if "db-data" not in volume_sources(services["db"]):
        problems.append("db must use the db-data volume")

    migrate = services["migrate"]
    if "migrate" not in " ".join(migrate.get("command", [])) or migrate.get("restart", "no") != "no":
        problems.append("migrate must be a one-shot manage.py migrate")
    if migrate.get("depends_on", {}).get("db", {}).get("condition") != "service_healthy":
        problems.append("migrate must wait for a healthy db")
    for name in APP_SERVICES:
        condition = services[name].get("depends_on", {}).get("migrate", {}).get("condition")
        if condition != "service_completed_successfully":
            problems.append(f"{name} must depend on migrate completing successfully, not {condition!r}")
    for name in ("db", "web"):
        if not services[name].get("healthcheck", {}).get("test"):
            problems.append(f"{name} needs a healthcheck")
    for name in APP_SERVICES:
        environment = services[name].get("environment", {})
        if environment.get("ATTACHMENT_X_ACCEL_PREFIX") != X_ACCEL_LOCATION:
            problems.append(f"{name}: ATTACHMENT_X_ACCEL_PREFIX must be {X_ACCEL_LOCATION}")
        if environment.get("BEHIND_PROXY") not in ("1", 1, True):
            problems.append(f"{name}: BEHIND_PROXY must be on behind nginx")

    nginx = services["nginx"]
    mounts = [m for m in nginx.get("volumes", []) if isinstance(m, str)]
    if not any(m.startswith("./nginx/tinyteamsticket.conf:/etc/nginx/templates/") for m in mounts):
        problems.append("nginx must mount the repository's template into /etc/nginx/templates/")
    if not any(m.startswith("attachments:") and m.endswith(":ro") for m in mounts):
        problems.append("nginx must mount the attachments volume read-only")
    if not any(m.startswith("static:") for m in mounts):
        problems.append("nginx must mount the static volume")
    template = (ROOT / "nginx" / "tinyteamsticket.conf").read_text()
    directives = "\n".join(line for line in template.splitlines() if not line.lstrip().startswith("#"))
    used = set(re.findall(r"\$\{([A-Z_]+)\}", directives))
    missing = sorted(used - set(nginx.get("environment", {})))
    if missing:
        problems.append(f"nginx lacks environment values for the template's {missing}")
    return problems


def test_compose_file_matches_the_compose_specification():
    assert schema_errors(load_compose()) == []


def test_compose_file_follows_the_deployment_rules():
    assert rule_violations(load_compose()) == []


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda c: c["services"]["web"].update(command=8000), id="command-not-a-string"),
        pytest.param(lambda c: c["services"]["db"].update(volumez=["db-data:/x"]), id="unknown-key"),
        pytest.param(lambda c: c["services"]["web"].update(ports="80:8000"), id="ports-not-a-list"),
        pytest.param(
            lambda c: c["services"]["web"]["depends_on"]["migrate"].update(condition="service_done"),
            id="bad-condition",
        ),
    ],
)
def test_a_broken_compose_file_fails_the_schema(mutate):
    compose = copy.deepcopy(load_compose())
    mutate(compose)
    assert schema_errors(compose)


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda c: c["services"]["worker"].setdefault("deploy", {}).update(replicas=2), id="two-workers"),
        pytest.param(lambda c: c["services"]["scheduler"].update(scale=3), id="three-schedulers"),
        pytest.param(lambda c: c["services"]["web"]["depends_on"].pop("migrate"), id="web-without-migrate"),
        pytest.param(
            lambda c: c["services"]["scheduler"]["depends_on"]["migrate"].update(condition="service_started"),
            id="scheduler-before-migrations-finish",
        ),
        pytest.param(lambda c: c["services"]["db"].update(volumes=["/srv/pg:/var/lib/postgresql/data"]), id="db-bind"),
        pytest.param(lambda c: c["services"]["web"].update(volumes=[]), id="attachments-in-container"),
        pytest.param(lambda c: c["services"]["nginx"]["environment"].pop("APP_UPSTREAM"), id="template-var-unset"),
        pytest.param(
            lambda c: c["services"]["web"]["environment"].update(ATTACHMENT_X_ACCEL_PREFIX="/files/"),
            id="x-accel-mismatch",
        ),
        pytest.param(lambda c: c.pop("services").pop("migrate") and None, id="no-services"),
    ],
)
def test_a_compose_file_breaking_the_rules_is_caught(mutate):
    compose = copy.deepcopy(load_compose())
    mutate(compose)
    assert rule_violations(compose)


def test_nginx_serves_the_internal_attachment_location():
    template = (ROOT / "nginx" / "tinyteamsticket.conf").read_text()
    block = re.search(r"location " + re.escape(X_ACCEL_LOCATION) + r" \{(.*?)\n\s*\}", template, flags=re.DOTALL)
    assert block, f"no location {X_ACCEL_LOCATION} in the nginx template"
    assert "internal;" in block.group(1)
    assert "alias ${ATTACHMENT_ROOT}/;" in block.group(1)


def test_dockerfile_runs_unprivileged_with_a_healthcheck():
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()]
    instructions = [line for line in lines if line and not line.startswith("#")]
    # The official image by default; deploy/container_smoke_test.sh passes its Debian-made stand-in.
    assert instructions[:2] == ["ARG BASE_IMAGE=python:3.12-slim", "FROM ${BASE_IMAGE}"], instructions[:2]
    users = [line.split()[1] for line in instructions if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0", "0:0"), users
    assert any(line.startswith("HEALTHCHECK ") for line in instructions)
    assert any("/healthz" in line for line in (ROOT / "deploy" / "healthcheck.py").read_text().splitlines())
    assert "EXPOSE 8000" in instructions
    assert not any(line.startswith(("ENV SECRET_KEY", "ARG SECRET_KEY")) for line in instructions)


def test_env_example_names_what_production_requires():
    text = (ROOT / ".env.example").read_text()
    mentioned = set(re.findall(r"\b([A-Z][A-Z0-9_]+)=", text))
    settings_source = (ROOT / "core" / "settings.py").read_text()
    read_by_settings = set(re.findall(r'env_(?:str|bool|int|list)\("([A-Z_]+)"', settings_source))
    assert {"SECRET_KEY", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS", "SITE_URL", "POSTGRES_PASSWORD"} <= mentioned
    # Every variable the settings read is at least mentioned, so operators find them in one place.
    assert read_by_settings - mentioned == set()
    # Required values are active lines, not commented out.
    active = {line.split("=", 1)[0] for line in text.splitlines() if re.match(r"^[A-Z_]+=", line)}
    assert {"SECRET_KEY", "ALLOWED_HOSTS", "POSTGRES_PASSWORD"} <= active


def test_dockerignore_keeps_development_files_out_of_the_image():
    # deploy/container_smoke_test.sh checks the built image; this names the rules it relies on.
    rules = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {"devtools/", "bench/", "**/tests/", "**/conftest.py", "deploy/*smoke*", ".env", ".git"} <= rules
