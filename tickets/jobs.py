"""The scheduled jobs: reminders, automatic resolve and close, the IT digest and pruning.

``tickets.scheduled`` runs these from the huey consumer; they take the current time from
``django.utils.timezone.now`` and hold no state of their own, so the tests call them directly with a
frozen clock. Each is idempotent: running it twice in a row sends and changes nothing more.
Ticket changes go through ``tickets.services`` (events and notifications in one transaction); what
a job sent is remembered as a ``JobRecord`` with a unique key, written in the same transaction as
the e-mail is handed over, so a failed send is tried again on the next run.

Reminders and the digest are e-mails: the notification outbox (``teams_app``) has no kind for them
yet. ``_send`` is the one place to switch them over once it has.
"""

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from background_task.models import CompletedTask
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Q, Subquery
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.roles import agents
from teams_app.models import BotActivityReceipt, Notification
from tickets import services
from tickets.models import Attachment, JobRecord, Ticket, TicketEvent

logger = logging.getLogger(__name__)

Status = Ticket.Status
Kind = TicketEvent.Kind


@dataclass
class JobResult:
    """What one run did; logged by the task and read by the tests."""

    sent: int = 0
    changed: list[int] = field(default_factory=list)  # ticket ids
    deleted: int = 0
    files_deleted: int = 0


def _language(person) -> str:
    return getattr(person, "language", "") or settings.LANGUAGE_CODE


def _send(*, key: str, job: str, ticket: Ticket | None, recipients, template: str, context: dict) -> bool:
    """Send one e-mail per recipient with an address, at most once per ``key``; True when sent now."""
    recipients = [person for person in recipients if person.is_active and person.email]
    if not recipients or JobRecord.objects.filter(key=key).exists():
        return False
    try:
        with transaction.atomic():
            JobRecord.objects.create(key=key, job=job, ticket=ticket)
            for person in recipients:
                with translation.override(_language(person)):
                    text = render_to_string(template, {**context, "recipient": person, "site_url": settings.SITE_URL})
                subject, _blank, body = text.partition("\n\n")
                message = EmailMessage(
                    subject=" ".join(subject.split()),
                    body=body,
                    to=[person.email],
                    headers={"Auto-Submitted": "auto-generated"},
                )
                message.send()
    except IntegrityError:  # recorded meanwhile by another run: it was sent there
        return False
    return True


def _local_now():
    return timezone.localtime(timezone.now())


# --- Overdue tickets -------------------------------------------------------------------------------


def remind_overdue() -> JobResult:
    """Once per local day and overdue ticket (from OVERDUE_REMINDER_HOUR): remind its assignee, or
    all IT staff when nobody is responsible."""
    result = JobResult()
    now = _local_now()
    if now.hour < settings.OVERDUE_REMINDER_HOUR:
        return result
    today = now.date()
    staff = None
    for ticket in Ticket.objects.overdue(today).select_related("assignee").order_by("pk"):
        if ticket.assignee is not None and ticket.assignee.is_active:
            recipients = [ticket.assignee]
        else:
            staff = staff if staff is not None else list(agents())
            recipients = staff
        if _send(
            key=f"overdue:{ticket.pk}:{today.isoformat()}",
            job="overdue",
            ticket=ticket,
            recipients=recipients,
            template="emails/job_overdue.txt",
            context={"ticket": ticket},
        ):
            result.sent += 1
    return result


# --- Waiting for the requester ---------------------------------------------------------------------


def _waiting_tickets():
    """Tickets waiting for their requester, with ``waiting_since``: the later of the change to
    "waiting" and the requester's last public reply (an answer restarts the clock)."""
    last_change = (
        TicketEvent.objects.filter(ticket=OuterRef("pk"), kind=Kind.STATUS, new_value=Status.WAITING)
        .order_by("-created_at")
        .values("created_at")[:1]
    )
    last_answer = (
        TicketEvent.objects.filter(ticket=OuterRef("pk"), kind=Kind.COMMENT, actor=OuterRef("requester"))
        .order_by("-created_at")
        .values("created_at")[:1]
    )
    tickets = (
        Ticket.objects.filter(status=Status.WAITING)
        .select_related("requester")
        .annotate(last_change=Subquery(last_change), last_answer=Subquery(last_answer))
        .order_by("pk")
    )
    for ticket in tickets:
        moments = [moment for moment in (ticket.last_change, ticket.last_answer) if moment is not None]
        ticket.waiting_since = max(moments) if moments else ticket.updated_at
        yield ticket


def remind_waiting() -> JobResult:
    """WAITING_REMINDER_DAYS after a ticket started waiting for its requester: remind them, once."""
    result = JobResult()
    now = timezone.now()
    for ticket in _waiting_tickets():
        waited = now - ticket.waiting_since
        if (
            not timedelta(days=settings.WAITING_REMINDER_DAYS)
            <= waited
            < timedelta(days=settings.WAITING_AUTO_RESOLVE_DAYS)
        ):
            continue
        if _send(
            key=f"waiting:{ticket.pk}:{ticket.waiting_since:%Y%m%dT%H%M%S}",
            job="waiting",
            ticket=ticket,
            recipients=[ticket.requester],
            template="emails/job_waiting.txt",
            context={"ticket": ticket, "resolve_days": settings.WAITING_AUTO_RESOLVE_DAYS},
        ):
            result.sent += 1
    return result


def resolve_abandoned() -> JobResult:
    """WAITING_AUTO_RESOLVE_DAYS without an answer: the system resolves the ticket, saying why."""
    result = JobResult()
    cutoff = timezone.now() - timedelta(days=settings.WAITING_AUTO_RESOLVE_DAYS)
    for ticket in _waiting_tickets():
        if ticket.waiting_since > cutoff:
            continue
        with translation.override(_language(ticket.requester)):
            explanation = _(
                "This ticket was resolved automatically because we did not hear back from you for %(days)s days. "
                "If the problem persists, reopen the ticket or reply to it."
            ) % {"days": settings.WAITING_AUTO_RESOLVE_DAYS}
        if services.ticket_auto_resolve(ticket=ticket, explanation=explanation):
            result.changed.append(ticket.pk)
    return result


# --- Resolved tickets ----------------------------------------------------------------------------


def close_resolved() -> JobResult:
    """Resolved tickets nobody reopened within RESOLVED_AUTO_CLOSE_DAYS are closed by the system."""
    result = JobResult()
    cutoff = timezone.now() - timedelta(days=settings.RESOLVED_AUTO_CLOSE_DAYS)
    for ticket in Ticket.objects.filter(status=Status.RESOLVED, resolved_at__lte=cutoff).order_by("pk"):
        if services.ticket_auto_close(ticket=ticket):
            result.changed.append(ticket.pk)
    return result


# --- The daily digest for IT staff ---------------------------------------------------------------


def send_digest() -> JobResult:
    """Once per local day (from DIGEST_HOUR), every IT staff member gets the new, unassigned and
    overdue tickets; nothing is sent on a day when all three lists are empty."""
    result = JobResult()
    now = _local_now()
    if now.hour < settings.DIGEST_HOUR:
        return result
    today = now.date()
    lists = {
        "new_tickets": list(Ticket.objects.filter(status=Status.NEW).order_by("created_at")[:50]),
        "unassigned": list(Ticket.objects.open().filter(assignee=None).order_by("created_at")[:50]),
        "overdue": list(Ticket.objects.overdue(today).order_by("due_date", "pk")[:50]),
    }
    if not any(lists.values()):
        return result
    for person in agents():
        if _send(
            key=f"digest:{person.pk}:{today.isoformat()}",
            job="digest",
            ticket=None,
            recipients=[person],
            template="emails/job_digest.txt",
            context={**lists, "today": today},
        ):
            result.sent += 1
    return result


# --- Pruning -------------------------------------------------------------------------------------


def prune() -> JobResult:
    """Delete finished background-task rows, delivered notifications and job records older than
    PRUNE_AFTER_DAYS (failed, dead and pending rows stay for the operator), and attachment files that
    no attachment names any more (``orphan_attachment_files``)."""
    cutoff = timezone.now() - timedelta(days=settings.PRUNE_AFTER_DAYS)
    deleted = 0
    deleted += CompletedTask.objects.filter(failed_at=None, run_at__lt=cutoff).delete()[0]
    deleted += Notification.objects.filter(status=Notification.Status.SENT, sent_at__lt=cutoff).delete()[0]
    # Service-level alerts of open tickets stay: without them a long-breached ticket would be announced again.
    sla_of_open = Q(job__in=["sla_warning", "sla_breach"], ticket__status__in=Status.open_values())
    deleted += JobRecord.objects.filter(created_at__lt=cutoff).exclude(sla_of_open).delete()[0]
    # Teams repeats an activity within minutes, never after days: older receipts guard nothing.
    deleted += BotActivityReceipt.objects.filter(created_at__lt=cutoff).delete()[0]
    files = orphan_attachment_files(older_than=ORPHAN_FILE_AGE)
    for path in files:
        path.unlink(missing_ok=True)
    return JobResult(deleted=deleted, files_deleted=len(files))


ORPHAN_FILE_AGE = timedelta(days=1)
"""Older than any upload still waiting for its transaction to commit."""


def orphan_attachment_files(*, older_than: timedelta) -> list[Path]:
    """Files under ATTACHMENT_ROOT that no attachment names: written by an upload whose transaction
    was rolled back, or left by a ticket deleted in the admin (whose files must go with it).

    Only files last modified longer than ``older_than`` ago, so an upload in progress is safe.
    """
    root = Path(settings.ATTACHMENT_ROOT)
    if not root.is_dir():
        return []
    named = set(Attachment.objects.values_list("file", flat=True))
    cutoff = (timezone.now() - older_than).timestamp()
    return [
        path
        for path in root.rglob("*")
        if path.is_file() and path.stat().st_mtime < cutoff and path.relative_to(root).as_posix() not in named
    ]
