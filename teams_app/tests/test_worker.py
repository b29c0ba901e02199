"""The real django-background-tasks runner delivers the outbox: one task at a time, and as the
``process_tasks`` loop that production runs."""

import io
import signal

import pytest
from background_task.models import CompletedTask, Task
from background_task.tasks import tasks
from django.core.management import call_command

from devtools.fake_graph import Scripted
from teams_app.models import Notification
from teams_app.tests.conftest import connect_microsoft
from tickets import services

Status = Notification.Status


def file_ticket(employee, tree, title="Printer jams"):
    return services.ticket_create(requester=employee, problem_source=tree["paper_jam"], title=title, description="x")


def run_queue() -> int:
    ran = 0
    while tasks.run_next_task():
        ran += 1
    return ran


@pytest.fixture
def keep_signal_handlers():
    """process_tasks installs handlers for SIGTSTP, SIGUSR1 and SIGUSR2; give pytest its own back."""
    saved = {number: signal.getsignal(number) for number in (signal.SIGTSTP, signal.SIGUSR1, signal.SIGUSR2)}
    yield
    for number, handler in saved.items():
        signal.signal(number, handler)


def test_the_runner_delivers_every_queued_notification(microsoft, employee, agent, second_agent, tree, mailoutbox):
    connect_microsoft(agent, microsoft)
    file_ticket(employee, tree)

    assert run_queue() == 1  # one task for both notifications of the new ticket
    assert set(Notification.objects.values_list("channel", "status")) == {("teams", "sent"), ("email", "sent")}
    assert len(microsoft.activity_requests) == 1
    assert [message.to for message in mailoutbox] == [[second_agent.email]]
    assert Task.objects.count() == 0
    assert CompletedTask.objects.filter(failed_at=None).count() == 1


def test_a_retry_waits_in_the_queue_until_it_is_due(microsoft, employee, agent, tree):
    connect_microsoft(agent, microsoft)
    file_ticket(employee, tree)
    microsoft.script(Scripted(429, retry_after=60))

    assert run_queue() == 1
    row = Notification.objects.get()
    assert row.status == Status.FAILED
    [waiting] = Task.objects.all()
    assert waiting.run_at == row.next_attempt_at
    assert run_queue() == 0  # not due: the runner leaves it

    Task.objects.update(run_at=row.next_attempt_at.replace(year=2000))
    Notification.objects.update(next_attempt_at=row.next_attempt_at.replace(year=2000))
    assert run_queue() == 1
    assert Notification.objects.get().status == Status.SENT


def test_delivery_failures_do_not_fail_the_task(microsoft, employee, agent, tree):
    """Retries are our own (Retry-After, backoff): the library must not reschedule or record errors."""
    connect_microsoft(agent, microsoft)
    file_ticket(employee, tree)
    microsoft.script(Scripted(503))
    run_queue()
    assert CompletedTask.objects.get().last_error == ""
    assert Task.objects.get().attempts == 0  # the new task for the next attempt


@pytest.mark.django_db(transaction=True)
def test_process_tasks_delivers_what_committed_ticket_changes_queued(
    microsoft, employee, agent, second_agent, tree, mailoutbox, keep_signal_handlers
):
    connect_microsoft(agent, microsoft)
    ticket = file_ticket(employee, tree)
    services.ticket_take(ticket=ticket, agent=second_agent)
    services.ticket_comment(ticket=ticket, author=second_agent, body="On my way.")

    call_command("process_tasks", duration=1, sleep=0.1, stdout=io.StringIO())

    assert set(Notification.objects.values_list("status", flat=True)) == {Status.SENT}
    assert len(microsoft.activity_requests) == 1  # anna, in Teams
    assert sorted(message.to[0] for message in mailoutbox) == sorted([employee.email, second_agent.email])
    assert Task.objects.count() == 0
