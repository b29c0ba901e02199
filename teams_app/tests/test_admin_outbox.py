"""The outbox in Django admin, and ``manage.py retry_notifications``."""

import io
from datetime import timedelta

import pytest
from background_task.models import Task
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from teams_app.models import Notification
from tickets import services

Status = Notification.Status
CHANGELIST = reverse("admin:teams_app_notification_changelist")


@pytest.fixture
def outbox(ticket, agent, employee):
    """Rows in every state; returns them by status."""
    services.ticket_comment(ticket=ticket, author=agent, body="one")
    services.ticket_comment(ticket=ticket, author=agent, body="two")
    services.ticket_update(ticket=ticket, actor=agent, status="waiting")
    services.ticket_update(ticket=ticket, actor=agent, status="resolved")
    services.ticket_comment(ticket=ticket, author=agent, body="three")
    services.ticket_comment(ticket=ticket, author=agent, body="four")
    rows = list(Notification.objects.filter(recipient=employee).order_by("pk"))
    Notification.objects.exclude(recipient=employee).delete()
    states = {
        "pending": {},
        "dead": {"status": Status.DEAD, "attempts": 8, "last_error": "Service unavailable (HTTP 503)"},
        "sent": {"status": Status.SENT, "attempts": 1, "sent_at": timezone.now()},
        "stale": {"status": Status.SENDING, "attempts": 1, "claimed_at": timezone.now() - timedelta(hours=1)},
        "sending": {"status": Status.SENDING, "attempts": 1, "claimed_at": timezone.now()},
        "failed": {"status": Status.FAILED, "attempts": 2, "next_attempt_at": timezone.now() + timedelta(hours=1)},
    }
    by_state = {}
    for row, (name, fields) in zip(rows, states.items(), strict=True):
        Notification.objects.filter(pk=row.pk).update(**fields)
        by_state[name] = Notification.objects.get(pk=row.pk)
    Task.objects.all().delete()
    return by_state


def tasks_for(row) -> int:
    return sum(1 for task in Task.objects.all() if task.params()[0] == [row.pk])


def test_the_outbox_lists_status_channel_and_errors(client, admin, outbox):
    client.force_login(admin)
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    assert "Service unavailable (HTTP 503)" in response.text
    assert "dead" in response.text
    response = client.get(CHANGELIST, {"status__exact": "dead"})
    assert list(response.context["cl"].result_list) == [outbox["dead"]]


def test_rows_cannot_be_added_or_edited_by_hand(client, admin, outbox):
    client.force_login(admin)
    assert client.get(reverse("admin:teams_app_notification_add")).status_code == 403
    change = reverse("admin:teams_app_notification_change", args=[outbox["dead"].pk])
    response = client.get(change)
    assert response.status_code == 200
    assert 'name="_save"' not in response.text
    client.post(change, {"status": "sent"})
    assert Notification.objects.get(pk=outbox["dead"].pk).status == Status.DEAD


def test_employees_and_agents_do_not_see_the_outbox(client, agent, outbox):
    client.force_login(agent)
    assert client.get(CHANGELIST).status_code == 302  # to the admin login


def test_retry_selected_requeues_dead_failed_and_stale_rows_only(client, admin, outbox):
    client.force_login(admin)
    selected = [row.pk for row in outbox.values()]
    response = client.post(CHANGELIST, {"action": "retry_selected", "_selected_action": selected}, follow=True)
    assert response.status_code == 200
    assert "3 notifications queued again." in response.text
    assert "Skipped 3" in response.text

    for name in ("dead", "failed", "stale"):
        row = Notification.objects.get(pk=outbox[name].pk)
        assert (row.status, row.attempts, tasks_for(row)) == (Status.PENDING, 0, 1), name
    assert Notification.objects.get(pk=outbox["sent"].pk).status == Status.SENT
    assert Notification.objects.get(pk=outbox["sending"].pk).status == Status.SENDING
    assert tasks_for(outbox["sent"]) == tasks_for(outbox["sending"]) == tasks_for(outbox["pending"]) == 0


def test_retry_notifications_requeues_dead_and_stale_sending_rows(outbox):
    out = io.StringIO()
    call_command("retry_notifications", stdout=out)
    assert out.getvalue().strip() == "2 notification(s) queued again."
    assert Notification.objects.get(pk=outbox["dead"].pk).status == Status.PENDING
    assert Notification.objects.get(pk=outbox["stale"].pk).status == Status.PENDING
    assert tasks_for(outbox["dead"]) == tasks_for(outbox["stale"]) == 1
    # Failed rows already wait for their next attempt; the others are not the command's business.
    assert Notification.objects.get(pk=outbox["failed"].pk).status == Status.FAILED
    assert Notification.objects.get(pk=outbox["sending"].pk).status == Status.SENDING
    assert Notification.objects.get(pk=outbox["sent"].pk).status == Status.SENT
    assert Task.objects.count() == 2


def test_a_requeued_dead_row_is_delivered_by_the_worker(outbox, mailoutbox):
    from background_task.tasks import tasks

    call_command("retry_notifications", stdout=io.StringIO())
    while tasks.run_next_task():
        pass
    assert Notification.objects.get(pk=outbox["dead"].pk).status == Status.SENT
    assert len(mailoutbox) == 2  # the dead row and the stale one (which may have arrived before)
