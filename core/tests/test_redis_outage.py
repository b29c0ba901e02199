"""Redis is cache and queue only: with REDIS_URL set and Redis unreachable, people still sign in,
read pages and file tickets, and /healthz says that Redis is down."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.cache.backends.locmem import LocMemCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from core import sessions
from tickets.models import Ticket

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CLOSED_PORT_URL = "redis://127.0.0.1:1/0"  # nothing listens there: every connection is refused


def settings_with_redis_url(url: str) -> dict:
    """CACHES, SESSION_ENGINE and the huey connection as core/settings.py computes them with REDIS_URL set."""
    env = {**os.environ, "REDIS_URL": url, "DEBUG": "1", "DJANGO_SETTINGS_MODULE": "core.settings"}
    code = (
        "import json; from django.conf import settings; print(json.dumps({"
        "'CACHES': settings.CACHES, 'SESSION_ENGINE': settings.SESSION_ENGINE, 'HUEY': settings.HUEY}))"
    )
    result = subprocess.run(  # fixed arguments: our own settings module
        [sys.executable, "-c", code], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def redis_settings():
    return settings_with_redis_url(CLOSED_PORT_URL)


@pytest.fixture
def redis_down(settings, redis_settings):
    """The app configured for Redis at a port where nothing answers."""
    assert redis_settings["CACHES"]["default"]["LOCATION"] == CLOSED_PORT_URL
    settings.CACHES = redis_settings["CACHES"]
    settings.SESSION_ENGINE = redis_settings["SESSION_ENGINE"]
    settings.HUEY = {**settings.HUEY, "connection": redis_settings["HUEY"]["connection"]}
    settings.HEALTH_REQUIRE_WORKERS = False
    yield


@pytest.fixture(autouse=True)
def empty_cache():
    """Overrides the project's autouse fixture: this module's cache is unreachable on purpose."""
    yield


def test_sign_in_pages_and_filing_work_while_redis_is_down(client, redis_down, employee, tree):
    response = client.post("/accounts/login/", {"username": "erika", "password": "erika-pass-123"})
    assert response.status_code == 302, response.content[:500]
    assert response.url == "/"

    assert client.get("/").status_code == 200
    assert client.get("/tickets/").status_code == 200
    assert client.get("/tickets/new/").status_code == 200

    response = client.post(
        "/tickets/new/",
        {"problem_source": tree["paper_jam"].pk, "title": "Printer jams", "description": "Again.", "priority": 2},
    )
    assert response.status_code == 302, response.content[:500]
    ticket = Ticket.objects.get(title="Printer jams")
    assert response.url == f"/tickets/{ticket.pk}/"
    assert client.get(response.url).status_code == 200

    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/").status_code == 302  # signed out for good, not revived from a cache


def test_healthz_says_redis_is_down(client, db, redis_down):
    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["database"] == "ok"
    assert body["cache"] == body["redis"] == "unavailable"


@pytest.fixture
def silent_redis(settings):
    """A port that accepts connections but never answers, like a hung Redis host."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(50)
    url = f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    configured = settings_with_redis_url(url)
    settings.CACHES = configured["CACHES"]
    settings.SESSION_ENGINE = configured["SESSION_ENGINE"]
    yield
    server.close()


def test_a_redis_that_does_not_answer_holds_each_cache_call_up_briefly(client, silent_redis, employee):
    from django.core.cache import cache

    started = time.monotonic()
    with pytest.raises(RedisError):
        cache.get("anything")
    assert time.monotonic() - started < 1.5  # redis-py's default read timeout is several seconds

    client.force_login(employee)
    assert client.get("/").status_code == 200


class RefusingDeletes(LocMemCache):
    """A cache that cannot clear entries, as Redis cannot while unreachable."""

    def delete(self, key, version=None):
        raise RedisConnectionError("Connection refused.")


def test_a_sign_out_while_the_cache_cannot_forget_the_session_holds_after_five_minutes(
    client, settings, employee, monkeypatch
):
    settings.CACHES = {"default": {"BACKEND": f"{__name__}.RefusingDeletes", "LOCATION": "sessions"}}
    settings.SESSION_ENGINE = "core.sessions"
    client.force_login(employee)
    stolen = client.cookies["sessionid"].value
    assert client.get("/").status_code == 200
    assert client.post("/accounts/logout/").status_code == 302  # the cache entry survives

    client.cookies["sessionid"] = stolen
    assert client.get("/").status_code == 200  # still cached: the window the engine bounds
    later = time.time() + sessions.CACHE_SECONDS + 1
    monkeypatch.setattr("django.core.cache.backends.locmem.time.time", lambda: later)
    assert client.get("/").status_code == 302  # the database knows it is gone
