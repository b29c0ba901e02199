"""/healthz: database, cache and Redis reachability and the background processes' heartbeats."""

import signal
from datetime import timedelta

import pytest
from background_task.tasks import tasks
from django.core.management import call_command
from django.utils import timezone

from core import views as core_views
from core.management.commands import run_worker
from core.models import Heartbeat
from tickets import scheduled as ticket_tasks

PARTS = {"status", "database", "cache", "redis", "worker_heartbeat_age", "scheduler_heartbeat_age", "outbox_stuck"}


@pytest.fixture
def require_workers(settings):
    settings.HEALTH_REQUIRE_WORKERS = True
    settings.HEALTH_HEARTBEAT_MAX_AGE = 300


def beat_at(name: str, seconds_ago: int) -> None:
    Heartbeat.objects.update_or_create(name=name, defaults={"beat_at": timezone.now() - timedelta(seconds=seconds_ago)})


def test_all_parts_answer_and_both_heartbeats_are_fresh(client, db, require_workers):
    beat_at("worker", 10)
    beat_at("scheduler", 70)

    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == PARTS
    assert body["status"] == body["database"] == body["cache"] == "ok"
    assert body["redis"] == "not configured"  # the tests run without REDIS_URL
    assert 9 <= body["worker_heartbeat_age"] <= 12
    assert 69 <= body["scheduler_heartbeat_age"] <= 72


@pytest.mark.parametrize(("worker", "scheduler"), [(None, 10), (10, None), (301, 10), (10, 400)])
def test_a_missing_or_stale_heartbeat_is_503_when_workers_are_required(client, db, require_workers, worker, scheduler):
    for name, age in (("worker", worker), ("scheduler", scheduler)):
        if age is not None:
            beat_at(name, age)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["database"] == "ok"


def test_without_required_workers_heartbeats_are_reported_but_do_not_fail(client, db, settings):
    settings.HEALTH_REQUIRE_WORKERS = False

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["worker_heartbeat_age"] is None


def test_an_unreachable_database_is_503(client, db, settings, monkeypatch):
    settings.HEALTH_REQUIRE_WORKERS = False

    class Unreachable:
        def cursor(self):
            raise OSError("connection refused")

    monkeypatch.setattr(core_views, "connection", Unreachable())
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["database"] == "unavailable"


def test_an_unreachable_redis_is_503(client, db, settings):
    settings.HEALTH_REQUIRE_WORKERS = False
    # A port nothing listens on: the connection is refused at once.
    settings.HUEY = {**settings.HUEY, "connection": {"url": "redis://127.0.0.1:1/0"}}

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["redis"] == "unavailable"


def test_the_scheduler_task_writes_the_scheduler_heartbeat(db):
    ticket_tasks.scheduler_heartbeat.call_local()

    assert Heartbeat.ages("scheduler")["scheduler"] < 5


@pytest.mark.django_db(transaction=True)
def test_run_worker_delivers_tasks_and_writes_the_worker_heartbeat(monkeypatch):
    """The real command loop, stopped after a second via the library's own duration option."""
    seen = []
    monkeypatch.setattr(tasks, "run_next_task", lambda queue=None: seen.append(queue) and False)
    monkeypatch.setattr(run_worker.time, "sleep", lambda seconds: None)

    saved = {number: signal.getsignal(number) for number in (signal.SIGTSTP, signal.SIGUSR1, signal.SIGUSR2)}
    try:
        call_command("run_worker", duration=1)
    finally:
        for number, handler in saved.items():
            signal.signal(number, handler)

    assert seen  # it ran the library's loop
    assert Heartbeat.ages("worker")["worker"] < 5
