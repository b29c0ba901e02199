"""How the web connects to PostgreSQL: no parallel query plans unless configured (bench/README.md,
session 5: a parallel plan for the employee dashboard's history cut its throughput to a fifth)."""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection


def database_options(**env: str) -> dict:
    """The default database's OPTIONS as core.settings builds them from ``env``."""
    program = "import json, core.settings as s; print(json.dumps(s.DATABASES['default'].get('OPTIONS', {})))"
    variables = {key: value for key, value in os.environ.items() if not key.startswith("DATABASE_")}
    variables.update({"SECRET_KEY": "settings-test-only", "DEBUG": "1", **env})
    command = [sys.executable, "-c", program]  # fixed arguments: our own settings module
    result = subprocess.run(command, env=variables, cwd=settings.BASE_DIR, capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def test_postgresql_connections_plan_without_parallel_workers_by_default():
    options = database_options(DATABASE_URL="postgres://tickets@db.example.com:5432/tickets")
    assert options["options"] == "-c max_parallel_workers_per_gather=0"


def test_parallel_workers_can_be_allowed_and_other_connection_options_stay():
    options = database_options(
        DATABASE_URL="postgres://tickets@db.example.com:5432/tickets?sslmode=require",
        DATABASE_PARALLEL_WORKERS="2",
    )
    assert options["options"] == "-c max_parallel_workers_per_gather=2"
    assert options["sslmode"] == "require"


def test_sqlite_gets_no_postgresql_options():
    options = database_options(DATABASE_URL="sqlite:///tmp/settings-test.sqlite3")
    assert "options" not in options


def test_a_word_for_the_number_of_workers_is_refused_with_its_name():
    with pytest.raises(subprocess.CalledProcessError) as failure:
        database_options(DATABASE_URL="postgres://tickets@db.example.com/tickets", DATABASE_PARALLEL_WORKERS="two")
    assert "DATABASE_PARALLEL_WORKERS must be a whole number" in failure.value.stderr


@pytest.mark.django_db
def test_the_live_postgresql_connection_runs_without_parallel_workers():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: set DATABASE_URL")
    with connection.cursor() as cursor:
        cursor.execute("SHOW max_parallel_workers_per_gather")
        assert cursor.fetchone()[0] == "0"
