"""The scheduled jobs (tickets.jobs) on a frozen clock: what each does, that a second run does
nothing more, and the events they write."""

import os
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from background_task.models import CompletedTask
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from conftest import make_user
from teams_app.models import Notification
from tickets import jobs, services
from tickets.attachments import check_upload
from tickets.models import Attachment, Comment, JobRecord, Ticket, TicketEvent

BERLIN = ZoneInfo("Europe/Berlin")
Status = Ticket.Status
Kind = TicketEvent.Kind


@pytest.fixture(autouse=True)
def job_settings(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    settings.OVERDUE_REMINDER_HOUR = 8
    settings.DIGEST_HOUR = 7
    settings.WAITING_REMINDER_DAYS = 3
    settings.WAITING_AUTO_RESOLVE_DAYS = 7
    settings.RESOLVED_AUTO_CLOSE_DAYS = 5
    settings.PRUNE_AFTER_DAYS = 30


def at(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def mails_to(mailoutbox, person) -> list:
    return [message for message in mailoutbox if message.to == [person.email]]


# --- Overdue -------------------------------------------------------------------------------------


def test_overdue_reminder_goes_to_the_assignee_once_per_day(ticket, agent, second_agent, mailoutbox):
    with time_machine.travel(at(2026, 3, 2, 9, 0), tick=False):
        services.ticket_update(ticket=ticket, actor=agent, assignee=agent, due_date=date(2026, 3, 1))
        mailoutbox.clear()

        assert jobs.remind_overdue().sent == 1
        assert jobs.remind_overdue().sent == 0

    [message] = mailoutbox
    assert message.to == [agent.email]
    assert f"#{ticket.pk}" in message.subject and "Overdue" in message.subject
    assert message.extra_headers["Auto-Submitted"] == "auto-generated"
    assert JobRecord.objects.get().key == f"overdue:{ticket.pk}:2026-03-02"

    with time_machine.travel(at(2026, 3, 3, 9, 0), tick=False):
        assert jobs.remind_overdue().sent == 1  # a new day, a new reminder


def test_overdue_reminder_waits_for_its_hour_and_goes_to_it_staff_when_unassigned(
    ticket, agent, second_agent, mailoutbox
):
    with time_machine.travel(at(2026, 3, 2, 7, 59), tick=False):
        services.ticket_update(ticket=ticket, actor=agent, due_date=date(2026, 3, 1))
        mailoutbox.clear()
        assert jobs.remind_overdue().sent == 0
    with time_machine.travel(at(2026, 3, 2, 8, 0), tick=False):
        assert jobs.remind_overdue().sent == 1

    assert sorted(message.to[0] for message in mailoutbox) == sorted([agent.email, second_agent.email])


def test_tickets_not_overdue_get_no_reminder(ticket, agent, mailoutbox):
    with time_machine.travel(at(2026, 3, 2, 9, 0), tick=False):
        services.ticket_update(ticket=ticket, actor=agent, assignee=agent, due_date=date(2026, 3, 2))
        mailoutbox.clear()
        assert jobs.remind_overdue().sent == 0
    assert mailoutbox == []


# --- Waiting for the requester -------------------------------------------------------------------


def test_waiting_ticket_reminds_the_requester_once_then_is_resolved_with_a_public_comment(
    ticket, employee, agent, mailoutbox
):
    with time_machine.travel(at(2026, 3, 2, 10, 0), tick=False):
        services.ticket_update(ticket=ticket, actor=agent, assignee=agent, status=Status.WAITING)
    mailoutbox.clear()

    with time_machine.travel(at(2026, 3, 5, 9, 59), tick=False):
        assert jobs.remind_waiting().sent == 0  # not three days yet
    with time_machine.travel(at(2026, 3, 5, 10, 0), tick=False):
        assert jobs.remind_waiting().sent == 1
        assert jobs.remind_waiting().sent == 0
    with time_machine.travel(at(2026, 3, 8, 10, 0), tick=False):
        assert jobs.remind_waiting().sent == 0  # reminded once per waiting period
        assert jobs.resolve_abandoned().changed == []  # six days

    [reminder] = mails_to(mailoutbox, employee)
    assert "Waiting for your answer" in reminder.subject

    events_before = TicketEvent.objects.count()
    with time_machine.travel(at(2026, 3, 9, 10, 0), tick=False):
        assert jobs.resolve_abandoned().changed == [ticket.pk]
        assert jobs.resolve_abandoned().changed == []
        assert jobs.remind_waiting().sent == 0

    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED
    assert ticket.resolved_at == at(2026, 3, 9, 10, 0)
    comment = Comment.objects.get(ticket=ticket)
    assert comment.author is None and not comment.is_internal
    assert "7 days" in comment.body
    new_events = TicketEvent.objects.order_by("pk")[events_before:]
    assert [(event.kind, event.actor, event.new_value) for event in new_events] == [
        (Kind.COMMENT, None, ""),
        (Kind.STATUS, None, Status.RESOLVED),
    ]
    # The requester hears of it through the outbox like of any change.
    assert Notification.objects.filter(ticket=ticket, recipient=employee, event__in=new_events).exists()


def test_an_answer_from_the_requester_restarts_the_waiting_clock(ticket, employee, agent, mailoutbox):
    with time_machine.travel(at(2026, 3, 2, 10, 0), tick=False):
        services.ticket_update(ticket=ticket, actor=agent, status=Status.WAITING)
    with time_machine.travel(at(2026, 3, 6, 10, 0), tick=False):
        services.ticket_comment(ticket=ticket, author=employee, body="Still broken.")
    mailoutbox.clear()
    with time_machine.travel(at(2026, 3, 9, 10, 0), tick=False):
        assert jobs.resolve_abandoned().changed == []
        assert jobs.remind_waiting().sent == 1
    ticket.refresh_from_db()
    assert ticket.status == Status.WAITING


def test_the_timeline_shows_the_system_as_actor(client, ticket, employee, agent):
    with time_machine.travel(at(2026, 3, 2, 10, 0), tick=False):
        services.ticket_update(ticket=ticket, actor=agent, status=Status.WAITING)
    with time_machine.travel(at(2026, 3, 20, 10, 0), tick=False):
        jobs.resolve_abandoned()
    client.force_login(employee)

    response = client.get(ticket.get_absolute_url())

    assert response.status_code == 200
    assert "The system" in response.content.decode()


# --- Resolved tickets ----------------------------------------------------------------------------


def test_resolved_ticket_is_closed_after_k_days_unless_reopened(ticket, other_ticket, employee, agent):
    with time_machine.travel(at(2026, 3, 2, 10, 0), tick=False):
        services.ticket_update(ticket=ticket, actor=agent, status=Status.RESOLVED)
        services.ticket_update(ticket=other_ticket, actor=agent, status=Status.RESOLVED)
    with time_machine.travel(at(2026, 3, 3, 10, 0), tick=False):
        services.ticket_reopen(ticket=other_ticket, user=agent)
    with time_machine.travel(at(2026, 3, 7, 9, 59), tick=False):
        assert jobs.close_resolved().changed == []
    with time_machine.travel(at(2026, 3, 7, 10, 0), tick=False):
        assert jobs.close_resolved().changed == [ticket.pk]
        assert jobs.close_resolved().changed == []

    ticket.refresh_from_db()
    other_ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED and ticket.closed_at == at(2026, 3, 7, 10, 0)
    assert other_ticket.status == Status.NEW  # reopened, nobody responsible
    event = TicketEvent.objects.get(ticket=ticket, new_value=Status.CLOSED)
    assert (event.kind, event.actor, event.old_value, event.new_value) == (
        Kind.STATUS,
        None,
        Status.RESOLVED,
        Status.CLOSED,
    )


# --- Digest --------------------------------------------------------------------------------------


def test_digest_lists_new_unassigned_and_overdue_tickets_once_a_day(
    ticket, other_ticket, agent, second_agent, employee, mailoutbox
):
    with time_machine.travel(at(2026, 3, 2, 6, 0), tick=False):
        services.ticket_update(ticket=other_ticket, actor=agent, assignee=agent, due_date=date(2026, 3, 1))
        mailoutbox.clear()
        assert jobs.send_digest().sent == 0  # before DIGEST_HOUR
    with time_machine.travel(at(2026, 3, 2, 7, 0), tick=False):
        assert jobs.send_digest().sent == 2
        assert jobs.send_digest().sent == 0

    assert sorted(message.to[0] for message in mailoutbox) == sorted([agent.email, second_agent.email])
    body = mails_to(mailoutbox, agent)[0].body
    new_part, _sep, rest = body.partition("Unassigned")
    unassigned_part, _sep, overdue_part = rest.partition("Overdue")
    assert f"#{ticket.pk} " in new_part  # still new
    assert f"#{ticket.pk} " in unassigned_part and f"#{other_ticket.pk} " not in unassigned_part
    assert f"#{other_ticket.pk} " in overdue_part
    assert employee.email not in [message.to[0] for message in mailoutbox]


def test_no_digest_on_a_quiet_day(agent, mailoutbox):
    with time_machine.travel(at(2026, 3, 2, 9, 0), tick=False):
        assert jobs.send_digest().sent == 0
    assert mailoutbox == []


# --- Pruning -------------------------------------------------------------------------------------


def test_prune_deletes_only_old_finished_rows(ticket, agent):
    old, recent = at(2026, 1, 1, 12, 0), at(2026, 3, 1, 12, 0)
    notification = Notification.objects.create(
        recipient=agent, channel="email", kind="ticketCreated", ticket=ticket, dedupe_key="a", status="sent"
    )
    Notification.objects.filter(pk=notification.pk).update(sent_at=old)
    Notification.objects.create(
        recipient=agent, channel="email", kind="ticketCreated", ticket=ticket, dedupe_key="b", status="dead"
    )
    JobRecord.objects.create(key="old", job="overdue", created_at=old)
    JobRecord.objects.create(key="recent", job="overdue", created_at=recent)
    for run_at, failed_at in ((old, None), (old, old), (recent, None)):
        CompletedTask.objects.create(task_name="x", task_params="[]", task_hash="h", run_at=run_at, failed_at=failed_at)

    with time_machine.travel(at(2026, 3, 2, 12, 0), tick=False):
        assert jobs.prune().deleted == 3
        assert jobs.prune().deleted == 0

    assert list(Notification.objects.values_list("dedupe_key", flat=True)) == ["b"]
    assert list(JobRecord.objects.values_list("key", flat=True)) == ["recent"]
    assert CompletedTask.objects.count() == 2


def test_a_failed_send_is_not_recorded_and_is_tried_again(ticket, agent, mailoutbox, monkeypatch):
    with time_machine.travel(at(2026, 3, 2, 9, 0), tick=False):
        services.ticket_update(ticket=ticket, actor=agent, assignee=agent, due_date=date(2026, 3, 1))

        def broken(self, *args, **kwargs):
            raise OSError("SMTP down")

        monkeypatch.setattr("django.core.mail.EmailMessage.send", broken)
        with pytest.raises(OSError):
            jobs.remind_overdue()
        assert not JobRecord.objects.exists()
        monkeypatch.undo()
        assert jobs.remind_overdue().sent == 1


def test_inactive_assignee_means_it_staff_are_reminded(ticket, agent, mailoutbox):
    leaver = make_user("leaver", agent=True)
    with time_machine.travel(at(2026, 3, 2, 9, 0), tick=False):
        services.ticket_update(ticket=ticket, actor=agent, assignee=leaver, due_date=date(2026, 3, 1))
        leaver.is_active = False
        leaver.save()
        mailoutbox.clear()
        jobs.remind_overdue()
    assert [message.to for message in mailoutbox] == [[agent.email]]


def attached_file(ticket, person, content: bytes) -> Path:
    log = check_upload(SimpleUploadedFile("log.txt", content, content_type="text/plain"))
    services.ticket_attach(ticket=ticket, user=person, files=[log])
    return Path(Attachment.objects.get(ticket=ticket).file.path)


def make_old(*paths: Path) -> None:
    """Last modified two days ago: past the prune's one-day grace."""
    two_days_ago = (timezone.now() - timedelta(days=2)).timestamp()
    for path in paths:
        os.utime(path, (two_days_ago, two_days_ago))


def test_prune_deletes_attachment_files_no_attachment_names_once_they_are_a_day_old(ticket, employee):
    kept = attached_file(ticket, employee, b"paper jam at tray 2\n")
    root = Path(settings.ATTACHMENT_ROOT)
    orphan = root / "2026" / "01" / "0123456789abcdef0123456789abcdef"  # a rolled-back upload
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"never committed")
    fresh = root / "2026" / "01" / "fedcba9876543210fedcba9876543210"  # an upload still in progress
    fresh.write_bytes(b"committing right now")
    make_old(kept, orphan)

    result = jobs.prune()

    assert result.files_deleted == 1
    assert not orphan.exists()
    assert kept.exists() and fresh.exists()
    assert jobs.prune().files_deleted == 0


def test_deleting_a_ticket_lets_prune_remove_its_files(ticket, employee):
    path = attached_file(ticket, employee, b"secret\n")
    ticket.delete()
    make_old(path)

    assert jobs.prune().files_deleted == 1
    assert not path.exists()
