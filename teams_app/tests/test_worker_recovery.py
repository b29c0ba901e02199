"""The notification worker survives a lost database and picks up what a killed worker left: its
locked tasks (django-background-tasks would wait MAX_RUN_TIME, an hour) and its rows in "sending"."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from background_task.models import Task
from background_task.tasks import tasks
from django.conf import settings
from django.db import OperationalError, connection
from django.utils import timezone

from core.management.commands.run_worker import _BeatingRunner
from devtools.fake_graph import Scripted
from teams_app import delivery
from teams_app.models import Notification, NotificationQuerySet
from teams_app.tests.conftest import CLIENT, SECRET, TEAMS_APP_ID, TENANT, connect_microsoft, fresh
from tickets import services

Status = Notification.Status
# The worker closes stale connections between tasks, which would end a test's wrapping transaction.
pytestmark = pytest.mark.django_db(transaction=True)


def run_passes(runner, count: int = 5) -> None:
    """Passes of the worker loop; tasks whose run_at lies ahead are made due, as time would."""
    for _ in range(count):
        Task.objects.update(run_at=timezone.now())
        runner.run_next_task()


def lose_database_once(monkeypatch, target, name):
    """``target.name`` raises OperationalError on its first call, as with a connection the server dropped."""
    real = getattr(target, name)
    calls = []

    def fail_first(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real(*args, **kwargs)

    monkeypatch.setattr(target, name, fail_first)


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


# --- A lost database ------------------------------------------------------------------------------


def test_a_database_error_after_sending_puts_the_row_back_and_it_is_sent_again(
    microsoft, agents_teams_row, monkeypatch
):
    lose_database_once(monkeypatch, delivery, "_finish")  # Graph took it; recording the outcome fails
    runner = _BeatingRunner(tasks)

    run_passes(runner)

    row = fresh(agents_teams_row)
    assert row.status == Status.SENT
    assert len(microsoft.activity_requests) == 2  # at least once: the unrecorded attempt counts as lost
    assert Task.objects.count() == 0


def test_the_worker_survives_when_even_the_task_bookkeeping_fails_and_recovers_its_own_task(
    microsoft, agents_teams_row, monkeypatch
):
    lose_database_once(monkeypatch, delivery, "_finish")
    real_release = NotificationQuerySet.release

    def database_still_gone(queryset, reason):
        if reason == delivery._LOST_DATABASE:  # only delivery's own attempt to put the row back
            raise OperationalError("server closed the connection unexpectedly")
        return real_release(queryset, reason)

    monkeypatch.setattr(NotificationQuerySet, "release", database_still_gone)
    lose_database_once(monkeypatch, Task, "reschedule")  # the library cannot record the failure either
    runner = _BeatingRunner(tasks)

    assert runner.run_next_task() is False  # the error reached the worker loop, which goes on
    assert fresh(agents_teams_row).status == Status.SENDING
    [task] = Task.objects.all()
    assert task.locked_by == str(os.getpid())

    run_passes(runner)

    assert fresh(agents_teams_row).status == Status.SENT
    assert Task.objects.count() == 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="terminates a PostgreSQL backend")
def test_a_connection_the_server_ended_is_replaced_before_the_next_task(microsoft, agents_teams_row):
    import psycopg2

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        [backend] = cursor.fetchone()
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    with psycopg2.connect(**params) as other, other.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [backend])
    other.close()

    assert _BeatingRunner(tasks).run_next_task() is True
    assert fresh(agents_teams_row).status == Status.SENT


# --- A killed worker ------------------------------------------------------------------------------


def test_at_start_the_tasks_of_a_dead_worker_are_unlocked_and_its_row_sent_again(microsoft, agents_teams_row):
    Notification.objects.filter(pk=agents_teams_row.pk).update(
        status=Status.SENDING, attempts=1, claimed_at=timezone.now()
    )
    Task.objects.update(locked_by=str(dead_pid()), locked_at=timezone.now())
    assert tasks.run_next_task() is False  # the library alone waits for MAX_RUN_TIME

    _BeatingRunner(tasks).run_next_task()

    row = fresh(agents_teams_row)
    assert (row.status, row.attempts) == (Status.SENT, 2)
    assert len(microsoft.activity_requests) == 1


def test_a_task_locked_by_a_running_process_is_left_alone(microsoft, agents_teams_row):
    Notification.objects.filter(pk=agents_teams_row.pk).update(status=Status.SENDING, claimed_at=timezone.now())
    Task.objects.update(locked_by=str(os.getppid()), locked_at=timezone.now())

    run_passes(_BeatingRunner(tasks), 2)

    assert fresh(agents_teams_row).status == Status.SENDING
    assert Task.objects.get().locked_by == str(os.getppid())
    assert microsoft.activity_requests == []


def test_a_row_left_sending_too_long_is_sent_again(microsoft, agents_teams_row):
    Notification.objects.filter(pk=agents_teams_row.pk).update(
        status=Status.SENDING, claimed_at=timezone.now() - timedelta(minutes=11)
    )
    Task.objects.all().delete()  # its task is gone (the library finished or dropped it)

    run_passes(_BeatingRunner(tasks), 2)

    assert fresh(agents_teams_row).status == Status.SENT


def test_a_worker_killed_while_sending_is_recovered_by_the_next_one(microsoft, notify_entra, employee, agent, tree):
    """A real ``run_worker`` process, killed with SIGKILL while Graph holds its request."""
    connect_microsoft(agent, microsoft)
    services.ticket_create(requester=employee, problem_source=tree["paper_jam"], title="Jam", description="x")
    services.ticket_create(requester=employee, problem_source=tree["toner"], title="Toner", description="y")
    microsoft.script(Scripted(hang=30))  # the first request is never answered
    database = connection.settings_dict
    if connection.vendor == "postgresql":
        url = f"postgres://{database['USER']}:{database['PASSWORD']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    else:
        url = f"sqlite:///{database['NAME']}"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DATABASE_URL", "REDIS_URL"))}
    env |= {
        "DEBUG": "1",
        "DATABASE_URL": url,
        "ENTRA_TENANT_ID": TENANT,
        "ENTRA_CLIENT_ID": CLIENT,
        "ENTRA_CLIENT_SECRET": SECRET,
        "ENTRA_AUTHORITY_URL": notify_entra.url,
        "GRAPH_URL": microsoft.url,
        "TEAMS_APP_ID": TEAMS_APP_ID,
        "SITE_URL": "https://tickets.example.com",
    }
    worker = subprocess.Popen(  # fixed arguments: our own manage.py
        [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "run_worker", "--sleep", "0.2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not microsoft.activity_requests and time.monotonic() < deadline:
            time.sleep(0.1)
        assert microsoft.activity_requests, "the worker never reached Graph"
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    assert Notification.objects.filter(status=Status.SENDING).count() == 1
    assert Task.objects.filter(locked_by=str(worker.pid)).count() == 1
    assert Task.objects.count() == 2  # the second ticket's task waits behind the lock-holder

    run_passes(_BeatingRunner(tasks), 4)

    assert set(Notification.objects.values_list("status", flat=True)) == {Status.SENT}
    assert Task.objects.count() == 0
