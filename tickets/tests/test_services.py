"""Ticket workflows: each change writes its events in the same transaction, and roles are enforced (C4)."""

from datetime import date
from pathlib import Path
from unittest import mock

import pytest
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError

from tickets import services
from tickets.models import Attachment, Comment, Ticket, TicketEvent
from tickets.tests.service_helpers import events_of, png_file, snapshot, text_file

Kind = TicketEvent.Kind
Status = Ticket.Status


# --- ticket_create ------------------------------------------------------------------------------


def test_ticket_create_writes_one_created_event(employee, tree):
    ticket = services.ticket_create(
        requester=employee,
        problem_source=tree["toner"],
        title="Toner leer",
        description="Kein Toner mehr im 3. Stock.",
        priority=Ticket.Priority.HIGH,
    )

    ticket.refresh_from_db()
    assert ticket.status == Status.NEW
    assert ticket.assignee is None
    assert ticket.requester == employee
    assert ticket.priority == Ticket.Priority.HIGH
    assert ticket.created_at == ticket.updated_at
    (event,) = events_of(ticket)
    assert event.kind == Kind.CREATED
    assert event.actor == employee
    assert event.new_value == str(tree["toner"].pk)
    assert event.old_value == ""
    assert event.is_internal is False
    assert event.created_at == ticket.created_at
    assert not Attachment.objects.filter(ticket=ticket).exists()


def test_ticket_create_with_files_stores_attachments_and_their_events(employee, tree, attachment_root):
    screenshot, log = png_file("Bildschirm.png"), text_file("drucker.log")

    ticket = services.ticket_create(
        requester=employee,
        problem_source=tree["paper_jam"],
        title="Stau",
        description="Siehe Anhang",
        files=[screenshot, log],
    )

    attachments = list(Attachment.objects.filter(ticket=ticket))
    assert [(a.original_name, a.content_type, a.size) for a in attachments] == [
        ("Bildschirm.png", "image/png", screenshot.size),
        ("drucker.log", "text/plain", log.size),
    ]
    for attachment in attachments:
        assert attachment.uploaded_by == employee
        assert attachment.comment is None
        assert attachment.is_internal is False
        stored = Path(attachment.file.path)
        assert stored.is_relative_to(Path(attachment_root))
        assert stored.suffix == ""  # random stored name, the uploader's extension is not kept
        assert attachment.original_name not in attachment.file.name
    assert Path(attachments[1].file.path).read_text(encoding="utf-8") == "Fehler: Zugriff verweigert\n"

    events = events_of(ticket)
    assert [e.kind for e in events] == [Kind.CREATED, Kind.ATTACHMENT, Kind.ATTACHMENT]
    assert [(e.attachment_id, e.new_value) for e in events[1:]] == [(a.pk, a.original_name) for a in attachments]
    assert all(e.actor == employee and not e.is_internal for e in events)


def test_ticket_create_is_rolled_back_when_events_cannot_be_written(employee, tree):
    with (
        mock.patch.object(TicketEvent.objects, "bulk_create", side_effect=DatabaseError("disk full")),
        pytest.raises(DatabaseError),
    ):
        services.ticket_create(
            requester=employee, problem_source=tree["toner"], title="Lost", description="x", files=[png_file()]
        )

    assert not Ticket.objects.filter(title="Lost").exists()
    assert not Attachment.objects.exists()


# --- ticket_comment -----------------------------------------------------------------------------


def test_public_reply_writes_a_comment_event(ticket, employee):
    before = snapshot(ticket)["updated_at"]

    comment = services.ticket_comment(ticket=ticket, author=employee, body="Still jams.")

    assert comment.is_internal is False
    assert comment.body == "Still jams."
    (event,) = events_of(ticket, Kind.COMMENT, Kind.INTERNAL_NOTE)
    assert event.kind == Kind.COMMENT
    assert event.comment == comment
    assert event.actor == employee
    assert event.is_internal is False
    assert snapshot(ticket)["updated_at"] == comment.created_at > before


def test_agent_internal_note_writes_an_internal_event(ticket, agent):
    comment = services.ticket_comment(ticket=ticket, author=agent, body="Vendor ticket 4711", is_internal=True)

    assert comment.is_internal is True
    (event,) = events_of(ticket, Kind.COMMENT, Kind.INTERNAL_NOTE)
    assert event.kind == Kind.INTERNAL_NOTE
    assert event.is_internal is True
    assert event.comment == comment


def test_agent_public_reply_is_not_internal(ticket, agent):
    services.ticket_comment(ticket=ticket, author=agent, body="On my way.")

    (event,) = events_of(ticket, Kind.COMMENT, Kind.INTERNAL_NOTE)
    assert (event.kind, event.is_internal) == (Kind.COMMENT, False)


def test_files_on_an_internal_note_are_internal_too(ticket, agent):
    comment = services.ticket_comment(
        ticket=ticket, author=agent, body="Config dump", is_internal=True, files=[text_file("config.txt")]
    )

    (attachment,) = Attachment.objects.filter(ticket=ticket)
    assert attachment.comment == comment
    assert attachment.is_internal is True
    (event,) = events_of(ticket, Kind.ATTACHMENT)
    assert event.is_internal is True
    assert event.attachment == attachment


def test_files_on_a_public_reply_belong_to_the_comment(ticket, employee):
    comment = services.ticket_comment(ticket=ticket, author=employee, body="Photo", files=[png_file()])

    (attachment,) = Attachment.objects.filter(ticket=ticket)
    assert (attachment.comment, attachment.is_internal, attachment.uploaded_by) == (comment, False, employee)


def test_employee_cannot_write_an_internal_note(ticket, employee):
    with pytest.raises(PermissionDenied):
        services.ticket_comment(ticket=ticket, author=employee, body="sneaky", is_internal=True)

    assert not Comment.objects.filter(ticket=ticket).exists()
    assert events_of(ticket, Kind.COMMENT, Kind.INTERNAL_NOTE) == []


def test_comment_is_rolled_back_when_events_cannot_be_written(ticket, employee):
    before = snapshot(ticket)

    with (
        mock.patch.object(TicketEvent.objects, "bulk_create", side_effect=DatabaseError("boom")),
        pytest.raises(DatabaseError),
    ):
        services.ticket_comment(ticket=ticket, author=employee, body="lost", files=[png_file()])

    assert not Comment.objects.filter(ticket=ticket).exists()
    assert not Attachment.objects.filter(ticket=ticket).exists()
    assert snapshot(ticket) == before


def test_ticket_attach_writes_attachment_events(ticket, employee):
    events = services.ticket_attach(ticket=ticket, user=employee, files=[png_file("a.png"), text_file("b.txt")])

    assert [e.kind for e in events] == [Kind.ATTACHMENT, Kind.ATTACHMENT]
    assert [a.original_name for a in Attachment.objects.filter(ticket=ticket)] == ["a.png", "b.txt"]
    assert len(events_of(ticket, Kind.ATTACHMENT)) == 2


# --- ticket_update ------------------------------------------------------------------------------


def test_update_writes_one_event_per_changed_field_with_old_and_new_values(ticket, agent, second_agent, tree):
    events = services.ticket_update(
        ticket=ticket,
        actor=agent,
        status=Status.WAITING,
        priority=Ticket.Priority.HIGH,
        problem_source=tree["toner"],
        due_date=date(2030, 1, 31),
        assignee=second_agent,
    )

    values = {e.kind: (e.old_value, e.new_value) for e in events_of(ticket) if e.kind != Kind.CREATED}
    assert values == {
        Kind.STATUS: ("new", "waiting"),
        Kind.PRIORITY: (str(Ticket.Priority.NORMAL.value), str(Ticket.Priority.HIGH.value)),
        Kind.PROBLEM_SOURCE: (str(tree["paper_jam"].pk), str(tree["toner"].pk)),
        Kind.DUE_DATE: ("", "2030-01-31"),
        Kind.ASSIGNMENT: ("", str(second_agent.pk)),
    }
    assert len(events) == 5
    assert all(e.actor == agent and not e.is_internal for e in events)
    state = snapshot(ticket)
    assert state["status"] == Status.WAITING
    assert state["priority"] == Ticket.Priority.HIGH
    assert state["problem_source_id"] == tree["toner"].pk
    assert state["due_date"] == date(2030, 1, 31)
    assert state["assignee_id"] == second_agent.pk
    assert state["updated_at"] == events[0].created_at


def test_update_writes_only_the_fields_that_changed(ticket, agent, tree):
    events = services.ticket_update(
        ticket=ticket,
        actor=agent,
        status=Status.NEW,
        priority=Ticket.Priority.HIGH,
        problem_source=tree["paper_jam"],
        due_date=None,
        assignee=None,
    )

    assert [(e.kind, e.old_value, e.new_value) for e in events] == [(Kind.PRIORITY, "2", "3")]


def test_update_with_nothing_changed_writes_nothing(ticket, agent, tree):
    before = snapshot(ticket)

    events = services.ticket_update(
        ticket=ticket,
        actor=agent,
        status=Status.NEW,
        priority=Ticket.Priority.NORMAL,
        problem_source=tree["paper_jam"],
        due_date=None,
        assignee=None,
    )

    assert events == []
    assert [e.kind for e in events_of(ticket)] == [Kind.CREATED]
    assert snapshot(ticket) == before


def test_update_without_arguments_writes_nothing(ticket, agent):
    before = snapshot(ticket)
    assert services.ticket_update(ticket=ticket, actor=agent) == []
    assert snapshot(ticket) == before


def test_due_date_change_and_removal_record_iso_dates(ticket, agent):
    services.ticket_update(ticket=ticket, actor=agent, due_date=date(2030, 3, 1))
    services.ticket_update(ticket=ticket, actor=agent, due_date=date(2030, 3, 15))
    services.ticket_update(ticket=ticket, actor=agent, due_date=None)

    assert [(e.old_value, e.new_value) for e in events_of(ticket, Kind.DUE_DATE)] == [
        ("", "2030-03-01"),
        ("2030-03-01", "2030-03-15"),
        ("2030-03-15", ""),
    ]
    assert snapshot(ticket)["due_date"] is None


def test_reassign_and_unassign_record_user_ids(ticket, agent, second_agent):
    services.ticket_update(ticket=ticket, actor=agent, assignee=agent)
    services.ticket_update(ticket=ticket, actor=agent, assignee=second_agent)
    services.ticket_update(ticket=ticket, actor=agent, assignee=None)

    assert [(e.old_value, e.new_value) for e in events_of(ticket, Kind.ASSIGNMENT)] == [
        ("", str(agent.pk)),
        (str(agent.pk), str(second_agent.pk)),
        (str(second_agent.pk), ""),
    ]
    assert snapshot(ticket)["assignee_id"] is None


@pytest.mark.parametrize("persona", ["employee", "other_employee"])
def test_only_agents_may_update(request, ticket, persona):
    user = request.getfixturevalue(persona)
    before = snapshot(ticket)

    for change in (
        {"status": Status.CLOSED},
        {"priority": Ticket.Priority.HIGH},
        {"due_date": date(2030, 1, 1)},
        {"assignee": None},
    ):
        with pytest.raises(PermissionDenied):
            services.ticket_update(ticket=ticket, actor=user, **change)

    assert snapshot(ticket) == before
    assert [e.kind for e in events_of(ticket)] == [Kind.CREATED]


def test_employee_cannot_assign_even_themselves(ticket, employee):
    with pytest.raises(PermissionDenied):
        services.ticket_update(ticket=ticket, actor=employee, assignee=employee)
    assert snapshot(ticket)["assignee_id"] is None


def test_assignee_must_be_an_agent_and_nothing_else_changes(ticket, agent, employee, other_employee):
    before = snapshot(ticket)

    for person in (employee, other_employee):
        with pytest.raises(PermissionDenied):
            services.ticket_update(
                ticket=ticket, actor=agent, status=Status.IN_PROGRESS, priority=Ticket.Priority.HIGH, assignee=person
            )

    assert snapshot(ticket) == before
    assert [e.kind for e in events_of(ticket)] == [Kind.CREATED]


def test_inactive_agent_cannot_update_or_be_assigned(ticket, agent, second_agent):
    second_agent.is_active = False
    second_agent.save()

    with pytest.raises(PermissionDenied):
        services.ticket_update(ticket=ticket, actor=agent, assignee=second_agent)

    fresh = type(second_agent).objects.get(pk=second_agent.pk)
    with pytest.raises(PermissionDenied):
        services.ticket_update(ticket=ticket, actor=fresh, priority=Ticket.Priority.LOW)


def test_admin_counts_as_agent(ticket, admin):
    services.ticket_update(ticket=ticket, actor=admin, assignee=admin)
    assert snapshot(ticket)["assignee_id"] == admin.pk


def test_update_is_rolled_back_when_events_cannot_be_written(ticket, agent, second_agent):
    before = snapshot(ticket)

    with (
        mock.patch.object(TicketEvent.objects, "bulk_create", side_effect=DatabaseError("boom")),
        pytest.raises(DatabaseError),
    ):
        services.ticket_update(
            ticket=ticket, actor=agent, status=Status.RESOLVED, priority=Ticket.Priority.HIGH, assignee=second_agent
        )

    assert snapshot(ticket) == before
    assert [e.kind for e in events_of(ticket)] == [Kind.CREATED]


# --- resolved_at / closed_at --------------------------------------------------------------------


def test_resolving_sets_resolved_at_only(ticket, agent):
    (event,) = services.ticket_update(ticket=ticket, actor=agent, status=Status.RESOLVED)

    state = snapshot(ticket)
    assert state["resolved_at"] == event.created_at
    assert state["closed_at"] is None


def test_closing_a_resolved_ticket_keeps_resolved_at_and_sets_closed_at(ticket, agent):
    (resolved,) = services.ticket_update(ticket=ticket, actor=agent, status=Status.RESOLVED)
    (closed,) = services.ticket_update(ticket=ticket, actor=agent, status=Status.CLOSED)

    state = snapshot(ticket)
    assert state["resolved_at"] == resolved.created_at
    assert state["closed_at"] == closed.created_at
    assert closed.created_at >= resolved.created_at


def test_closing_an_open_ticket_sets_both_timestamps(ticket, agent):
    (event,) = services.ticket_update(ticket=ticket, actor=agent, status=Status.CLOSED)

    state = snapshot(ticket)
    assert state["resolved_at"] == state["closed_at"] == event.created_at


@pytest.mark.parametrize("status", [Status.NEW, Status.IN_PROGRESS, Status.WAITING])
def test_moving_back_to_an_open_status_clears_both_timestamps(ticket, agent, status):
    services.ticket_update(ticket=ticket, actor=agent, status=Status.CLOSED)
    services.ticket_update(
        ticket=ticket, actor=agent, status=Status.IN_PROGRESS if status == Status.NEW else Status.NEW
    )
    services.ticket_update(ticket=ticket, actor=agent, status=Status.CLOSED)
    services.ticket_update(ticket=ticket, actor=agent, status=status)

    state = snapshot(ticket)
    assert state["status"] == status
    assert state["resolved_at"] is None
    assert state["closed_at"] is None


def test_moving_a_closed_ticket_to_resolved_clears_closed_at(ticket, agent):
    services.ticket_update(ticket=ticket, actor=agent, status=Status.CLOSED)
    (event,) = services.ticket_update(ticket=ticket, actor=agent, status=Status.RESOLVED)

    state = snapshot(ticket)
    assert state["closed_at"] is None
    assert state["resolved_at"] == event.created_at


# --- ticket_take --------------------------------------------------------------------------------


def test_take_assigns_the_agent_and_moves_new_to_in_progress(ticket, agent):
    events = services.ticket_take(ticket=ticket, agent=agent)

    assert sorted((e.kind, e.old_value, e.new_value) for e in events) == sorted(
        [(Kind.STATUS, "new", "in_progress"), (Kind.ASSIGNMENT, "", str(agent.pk))]
    )
    state = snapshot(ticket)
    assert state["assignee_id"] == agent.pk
    assert state["status"] == Status.IN_PROGRESS


def test_take_of_a_waiting_ticket_keeps_its_status(ticket, agent, second_agent):
    services.ticket_update(ticket=ticket, actor=agent, status=Status.WAITING, assignee=agent)
    ticket.refresh_from_db()

    events = services.ticket_take(ticket=ticket, agent=second_agent)

    assert [(e.kind, e.old_value, e.new_value) for e in events] == [
        (Kind.ASSIGNMENT, str(agent.pk), str(second_agent.pk))
    ]
    assert snapshot(ticket)["status"] == Status.WAITING


def test_take_decides_the_status_from_the_current_row_not_a_stale_copy(ticket, agent, second_agent):
    # `ticket` was loaded while NEW; meanwhile another agent set it to Waiting.
    services.ticket_update(ticket=Ticket.objects.get(pk=ticket.pk), actor=second_agent, status=Status.WAITING)

    services.ticket_take(ticket=ticket, agent=agent)

    state = snapshot(ticket)
    assert state["status"] == Status.WAITING
    assert state["assignee_id"] == agent.pk


def test_take_by_own_assignee_on_in_progress_ticket_changes_nothing(ticket, agent):
    services.ticket_take(ticket=ticket, agent=agent)
    ticket.refresh_from_db()
    assert services.ticket_take(ticket=ticket, agent=agent) == []


def test_employee_cannot_take(ticket, employee):
    with pytest.raises(PermissionDenied):
        services.ticket_take(ticket=ticket, agent=employee)
    assert snapshot(ticket)["assignee_id"] is None
    assert snapshot(ticket)["status"] == Status.NEW
