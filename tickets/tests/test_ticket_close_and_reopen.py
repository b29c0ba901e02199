"""ticket_close and ticket_reopen: who may, the reopen window, timestamps, and rollback."""

from datetime import timedelta
from unittest import mock

import pytest
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError
from django.utils import timezone

from tickets import services
from tickets.models import Ticket, TicketEvent
from tickets.tests.service_helpers import age, events_of, snapshot

Kind = TicketEvent.Kind
Status = Ticket.Status


# --- ticket_close -------------------------------------------------------------------------------


def test_requester_can_close_their_ticket(ticket, employee):
    event = services.ticket_close(ticket=ticket, user=employee)

    assert (event.kind, event.old_value, event.new_value, event.actor) == (Kind.STATUS, "new", "closed", employee)
    assert event.pk is not None
    state = snapshot(ticket)
    assert state["status"] == Status.CLOSED
    assert state["closed_at"] == event.created_at
    assert state["updated_at"] == event.created_at


def test_requester_closing_a_resolved_ticket_keeps_resolved_at(ticket, agent, employee):
    (resolved,) = services.ticket_update(ticket=ticket, actor=agent, status=Status.RESOLVED)

    event = services.ticket_close(ticket=ticket, user=employee)

    assert event.old_value == "resolved"
    assert snapshot(ticket)["resolved_at"] == resolved.created_at


def test_agent_can_close_any_ticket(other_ticket, agent):
    services.ticket_close(ticket=other_ticket, user=agent)
    assert snapshot(other_ticket)["status"] == Status.CLOSED


def test_other_employee_cannot_close(ticket, other_employee):
    with pytest.raises(PermissionDenied):
        services.ticket_close(ticket=ticket, user=other_employee)
    assert snapshot(ticket)["status"] == Status.NEW


def test_closed_ticket_cannot_be_closed_again(ticket, employee):
    services.ticket_close(ticket=ticket, user=employee)
    with pytest.raises(PermissionDenied):
        services.ticket_close(ticket=ticket, user=employee)
    assert len(events_of(ticket, Kind.STATUS)) == 1


def test_close_is_rolled_back_when_its_event_cannot_be_written(ticket, employee):
    before = snapshot(ticket)

    with (
        mock.patch.object(TicketEvent.objects, "bulk_create", side_effect=DatabaseError("boom")),
        pytest.raises(DatabaseError),
    ):
        services.ticket_close(ticket=ticket, user=employee)

    assert snapshot(ticket) == before


# --- ticket_reopen ------------------------------------------------------------------------------


def test_requester_can_reopen_within_the_reopen_window(ticket, employee, settings):
    settings.TICKET_REOPEN_DAYS = 14
    services.ticket_close(ticket=ticket, user=employee)
    age(ticket, days=13.9)

    event = services.ticket_reopen(ticket=ticket, user=employee)

    assert (event.kind, event.old_value, event.new_value) == (Kind.STATUS, "closed", "new")
    state = snapshot(ticket)
    assert state["status"] == Status.NEW
    assert state["resolved_at"] is None
    assert state["closed_at"] is None
    assert state["updated_at"] == event.created_at


def test_reopening_an_assigned_ticket_goes_back_to_in_progress(ticket, agent, employee):
    services.ticket_update(ticket=ticket, actor=agent, assignee=agent, status=Status.RESOLVED)

    event = services.ticket_reopen(ticket=ticket, user=employee)

    assert (event.old_value, event.new_value) == ("resolved", "in_progress")
    assert snapshot(ticket)["status"] == Status.IN_PROGRESS


@pytest.mark.parametrize("status", [Status.RESOLVED, Status.CLOSED])
def test_requester_cannot_reopen_after_the_reopen_window(ticket, agent, employee, settings, status):
    settings.TICKET_REOPEN_DAYS = 7
    services.ticket_update(ticket=ticket, actor=agent, status=status)
    age(ticket, days=7.1)
    before = snapshot(ticket)

    with pytest.raises(PermissionDenied):
        services.ticket_reopen(ticket=ticket, user=employee)

    assert snapshot(ticket) == before
    assert len(events_of(ticket, Kind.STATUS)) == 1


def test_reopen_window_follows_the_setting(ticket, employee, settings):
    services.ticket_close(ticket=ticket, user=employee)
    age(ticket, days=20)

    settings.TICKET_REOPEN_DAYS = 14
    with pytest.raises(PermissionDenied):
        services.ticket_reopen(ticket=ticket, user=employee)

    settings.TICKET_REOPEN_DAYS = 30
    services.ticket_reopen(ticket=ticket, user=employee)
    assert snapshot(ticket)["status"] == Status.NEW


def test_window_of_a_resolved_then_closed_ticket_counts_from_closing(ticket, agent, employee, settings):
    settings.TICKET_REOPEN_DAYS = 14
    services.ticket_update(ticket=ticket, actor=agent, status=Status.RESOLVED)
    Ticket.objects.filter(pk=ticket.pk).update(resolved_at=timezone.now() - timedelta(days=60))
    services.ticket_close(ticket=ticket, user=employee)  # closed just now

    services.ticket_reopen(ticket=ticket, user=employee)
    assert snapshot(ticket)["status"] == Status.NEW


def test_agent_can_reopen_any_time(ticket, agent, settings):
    settings.TICKET_REOPEN_DAYS = 14
    services.ticket_close(ticket=ticket, user=agent)
    age(ticket, days=400)

    services.ticket_reopen(ticket=ticket, user=agent)
    assert snapshot(ticket)["status"] == Status.NEW


def test_other_employee_cannot_reopen(ticket, employee, other_employee):
    services.ticket_close(ticket=ticket, user=employee)
    with pytest.raises(PermissionDenied):
        services.ticket_reopen(ticket=ticket, user=other_employee)
    assert snapshot(ticket)["status"] == Status.CLOSED


@pytest.mark.parametrize("persona", ["employee", "agent"])
def test_open_ticket_cannot_be_reopened(request, ticket, persona):
    with pytest.raises(PermissionDenied):
        services.ticket_reopen(ticket=ticket, user=request.getfixturevalue(persona))
    assert [e.kind for e in events_of(ticket)] == [Kind.CREATED]


def test_reopen_is_rolled_back_when_its_event_cannot_be_written(ticket, employee):
    services.ticket_close(ticket=ticket, user=employee)
    before = snapshot(ticket)

    with (
        mock.patch.object(TicketEvent.objects, "bulk_create", side_effect=DatabaseError("boom")),
        pytest.raises(DatabaseError),
    ):
        services.ticket_reopen(ticket=ticket, user=employee)

    assert snapshot(ticket) == before
