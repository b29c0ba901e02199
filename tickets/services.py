"""Ticket workflows that touch several models. Each runs in one transaction and writes its events.

Views call these after their forms validated the input; permission to act is checked by the view
(who may see the ticket) and here (what this person may change), so a crafted POST cannot reach a
change the person's role does not allow.
"""

from collections.abc import Iterable

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from teams_app.notifications import notify
from tickets import routing, sla
from tickets.attachments import CheckedFile
from tickets.models import Attachment, Comment, ProblemSource, Ticket, TicketEvent
from tickets.self_help import self_help_event

Kind = TicketEvent.Kind
Status = Ticket.Status


def _event(ticket: Ticket, actor, kind: str, *, old="", new="", comment=None, is_internal=False, at=None):
    return TicketEvent(
        ticket=ticket,
        actor=actor,
        kind=kind,
        old_value="" if old is None else str(old),
        new_value="" if new is None else str(new),
        comment=comment,
        is_internal=is_internal,
        created_at=at or timezone.now(),
    )


def _attach(ticket: Ticket, actor, files: Iterable[CheckedFile], *, comment=None, is_internal=False, at=None):
    events = []
    for checked in files:
        attachment = Attachment(
            ticket=ticket,
            comment=comment,
            uploaded_by=actor,
            original_name=checked.name,
            content_type=checked.content_type,
            size=checked.size,
            is_internal=is_internal,
            created_at=at or timezone.now(),
        )
        attachment.file.save(checked.name, checked.upload, save=False)
        attachment.save()
        event = _event(
            ticket, actor, Kind.ATTACHMENT, new=checked.name, is_internal=is_internal, at=attachment.created_at
        )
        event.attachment = attachment
        events.append(event)
    return events


def _save_change(ticket: Ticket, events: list[TicketEvent], now) -> None:
    """Save a changed ticket with the events that record the change and announce them."""
    ticket.updated_at = now
    ticket.save()
    TicketEvent.objects.bulk_create(events)
    notify(events, ticket=ticket)


def _lock(ticket: Ticket) -> Ticket:
    """Re-read the ticket under a row lock so concurrent changes record correct from→to values.

    With its requester and assignee (not locked), whom the notifications address, and its SLA policy."""
    return (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("requester", "assignee", "sla_policy__calendar")
        .get(pk=ticket.pk)
    )


def _require_participant(ticket: Ticket, person) -> None:
    """Only the requester and IT staff write on a ticket (Ticket.may_be_written_on_by)."""
    if person is not None and not ticket.may_be_written_on_by(person):
        raise PermissionDenied("Only the requester and IT staff write on a ticket.")


@transaction.atomic
def ticket_create(
    *,
    requester,
    problem_source: ProblemSource,
    title: str,
    description: str,
    priority: int = Ticket.Priority.NORMAL,
    files: Iterable[CheckedFile] = (),
    via_email: bool = False,
    self_help_article=None,
) -> Ticket:
    """File a ticket. ``self_help_article``: the article the requester read first (tickets.self_help)."""
    now = timezone.now()
    routed = routing.route_new_ticket(problem_source)  # the node's team, and a member by its rule
    ticket = Ticket(
        team_id=routed.team_id,
        assignee=routed.assignee,
        via_email=via_email,
        requester=requester,
        problem_source=problem_source,
        title=title,
        description=description,
        priority=priority,
        created_at=now,
        updated_at=now,
    )
    sla.start(ticket, sla.policy_for_source(problem_source), now=now)
    ticket.save(force_insert=True)
    events = [_event(ticket, requester, Kind.CREATED, new=problem_source.pk, at=now)]
    events += routing.routing_events(ticket, routed, at=now)
    events += _attach(ticket, requester, files, at=now)
    if self_help_article is not None:
        events.append(self_help_event(ticket, requester, self_help_article, at=now))
    TicketEvent.objects.bulk_create(events)
    notify(events, ticket=ticket)
    return ticket


@transaction.atomic
def ticket_comment(*, ticket: Ticket, author, body: str, is_internal: bool = False, files: Iterable[CheckedFile] = ()):
    if is_internal and not author.is_agent:
        raise PermissionDenied("Only IT staff write internal notes.")
    _require_participant(ticket, author)
    ticket = _lock(ticket)  # the current assignee and requester hear of it
    now = timezone.now()
    comment = Comment.objects.create(ticket=ticket, author=author, body=body, is_internal=is_internal, created_at=now)
    kind = Kind.INTERNAL_NOTE if is_internal else Kind.COMMENT
    events = [_event(ticket, author, kind, comment=comment, is_internal=is_internal, at=now)]
    events += _attach(ticket, author, files, comment=comment, is_internal=is_internal, at=now)
    TicketEvent.objects.bulk_create(events)
    changes = {"updated_at": now}
    if not is_internal and author.is_agent and author.pk != ticket.requester_id:
        # Only the first agent reply counts: COALESCE keeps a stored one, read in the UPDATE itself,
        # so the earliest wins even if a concurrent reply got here first.
        changes["first_response_at"] = Coalesce("first_response_at", Value(now))
        if ticket.first_response_at is None:  # read under the row lock: this is the first reply
            ticket.first_response_at = now
            if sla.first_response_given(ticket):
                changes.update(sla_due_at=ticket.sla_due_at, sla_warning_at=ticket.sla_warning_at)
    elif not is_internal and author.pk == ticket.requester_id and sla.requester_answered(ticket, now=now):
        changes.update({name: getattr(ticket, name) for name in sla.SLA_FIELDS if name != "sla_policy"})
    Ticket.objects.filter(pk=ticket.pk).update(**changes)
    notify(events, ticket=ticket)
    return comment


def _set_status(ticket: Ticket, status: str, now) -> None:
    """Every status change goes through here, with its event and the caller's row lock."""
    if ticket.status in (Status.RESOLVED, Status.CLOSED) and status in Status.open_values():
        ticket.reopened_count += 1  # saved with the status by _save_change; see tickets/analysis.py
    old_status, ticket.status = ticket.status, status
    if status == Status.RESOLVED:
        ticket.resolved_at = now
        ticket.closed_at = None
    elif status == Status.CLOSED:
        ticket.closed_at = now
        ticket.resolved_at = ticket.resolved_at or now
    else:
        ticket.resolved_at = None
        ticket.closed_at = None
    sla.status_changed(ticket, old_status=old_status, now=now)


_UNSET = object()


@transaction.atomic
def ticket_update(
    *,
    ticket: Ticket,
    actor,
    status: str | None = None,
    priority: int | None = None,
    problem_source: ProblemSource | None = None,
    due_date: object = _UNSET,
    assignee: object = _UNSET,
) -> list[TicketEvent]:
    """Change the fields an agent works with; one event per field that really changed.

    ``None`` for status, priority or problem source means "leave as is". For ``due_date`` and
    ``assignee`` None is a real value (no due date, unassigned), so leaving them out means "as is".
    """
    if not actor.is_agent:
        raise PermissionDenied("Only IT staff change status, priority, category, due date or assignee.")
    ticket = _lock(ticket)
    now = timezone.now()
    events = []
    targets_changed = False  # the service level's due times are computed once, after every change
    if status is not None and status != ticket.status:
        events.append(_event(ticket, actor, Kind.STATUS, old=ticket.status, new=status, at=now))
        _set_status(ticket, status, now)
    if priority is not None and priority != ticket.priority:
        events.append(_event(ticket, actor, Kind.PRIORITY, old=ticket.priority, new=priority, at=now))
        ticket.priority = priority
        targets_changed = True
    if problem_source is not None and problem_source.pk != ticket.problem_source_id:
        events.append(
            _event(ticket, actor, Kind.PROBLEM_SOURCE, old=ticket.problem_source_id, new=problem_source.pk, at=now)
        )
        ticket.problem_source = problem_source
        if problem_source.effective_sla_policy_id != ticket.sla_policy_id:
            # Another policy: the same clock (its stopped time kept), new targets.
            ticket.sla_policy = sla.policy_for_source(problem_source)
            targets_changed = True
    if targets_changed:
        sla.recompute(ticket)
    if due_date is not _UNSET and due_date != ticket.due_date:
        old = ticket.due_date.isoformat() if ticket.due_date else ""
        new = due_date.isoformat() if due_date else ""
        events.append(_event(ticket, actor, Kind.DUE_DATE, old=old, new=new, at=now))
        ticket.due_date = due_date
    if assignee is not _UNSET and getattr(assignee, "pk", None) != ticket.assignee_id:
        if assignee is not None and not assignee.is_agent:
            raise PermissionDenied("Tickets are assigned to IT staff only.")
        events.append(
            _event(ticket, actor, Kind.ASSIGNMENT, old=ticket.assignee_id, new=getattr(assignee, "pk", None), at=now)
        )
        ticket.assignee = assignee
    if events:
        _save_change(ticket, events, now)
    return events


@transaction.atomic
def ticket_take(*, ticket: Ticket, agent) -> list[TicketEvent]:
    """The agent becomes responsible; a new ticket moves to In progress at the same time."""
    ticket = _lock(ticket)  # decide on the current status, not on the caller's possibly stale copy
    status = Status.IN_PROGRESS if ticket.status == Status.NEW else None
    return ticket_update(ticket=ticket, actor=agent, assignee=agent, status=status)


@transaction.atomic
def ticket_close(*, ticket: Ticket, user) -> TicketEvent | None:
    """The requester (or an agent) marks the ticket solved: it is closed."""
    ticket = _lock(ticket)
    if not ticket.can_be_closed_by(user):
        raise PermissionDenied("This ticket cannot be closed by this user.")
    now = timezone.now()
    event = _event(ticket, user, Kind.STATUS, old=ticket.status, new=Status.CLOSED, at=now)
    _set_status(ticket, Status.CLOSED, now)
    _save_change(ticket, [event], now)
    return event


@transaction.atomic
def ticket_reopen(*, ticket: Ticket, user) -> TicketEvent:
    """Back to work: In progress when someone is responsible, else New."""
    ticket = _lock(ticket)
    if not ticket.can_be_reopened_by(user):
        raise PermissionDenied("This ticket cannot be reopened by this user.")
    now = timezone.now()
    status = Status.IN_PROGRESS if ticket.assignee_id else Status.NEW
    event = _event(ticket, user, Kind.STATUS, old=ticket.status, new=status, at=now)
    _set_status(ticket, status, now)
    _save_change(ticket, [event], now)
    return event


@transaction.atomic
def ticket_attach(*, ticket: Ticket, user, files: Iterable[CheckedFile]) -> list[TicketEvent]:
    _require_participant(ticket, user)
    ticket = _lock(ticket)
    now = timezone.now()
    events = _attach(ticket, user, files, at=now)
    TicketEvent.objects.bulk_create(events)
    Ticket.objects.filter(pk=ticket.pk).update(updated_at=now)
    return events


@transaction.atomic
def ticket_auto_resolve(*, ticket: Ticket, explanation: str) -> list[TicketEvent]:
    """The system resolves a ticket that waited too long for its requester, saying why in public.

    Does nothing (returns []) when the ticket is no longer waiting, so a stale caller changes nothing.
    """
    ticket = _lock(ticket)
    if ticket.status != Status.WAITING:
        return []
    now = timezone.now()
    comment = Comment.objects.create(ticket=ticket, author=None, body=explanation, created_at=now)
    events = [
        _event(ticket, None, Kind.COMMENT, comment=comment, at=now),
        _event(ticket, None, Kind.STATUS, old=ticket.status, new=Status.RESOLVED, at=now),
    ]
    _set_status(ticket, Status.RESOLVED, now)
    _save_change(ticket, events, now)
    return events


@transaction.atomic
def ticket_auto_close(*, ticket: Ticket) -> TicketEvent | None:
    """The system closes a resolved ticket nobody reopened; None when it is not resolved any more."""
    ticket = _lock(ticket)
    if ticket.status != Status.RESOLVED:
        return None
    now = timezone.now()
    event = _event(ticket, None, Kind.STATUS, old=ticket.status, new=Status.CLOSED, at=now)
    _set_status(ticket, Status.CLOSED, now)
    _save_change(ticket, [event], now)
    return event
