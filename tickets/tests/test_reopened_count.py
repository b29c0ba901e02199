"""Ticket.reopened_count: kept with the status event by every workflow that reopens, filled by
migration 0008, set by the data generators, and what the analysis counts as "reopened"."""

import importlib
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from unittest import mock

import pytest
from django.apps import apps
from django.db import DatabaseError, connection
from django.utils import timezone

from devtools import data_generator
from tickets import analysis, jobs, services
from tickets.models import Ticket, TicketEvent

fill = importlib.import_module("tickets.migrations.0008_ticket_reopened_count").fill_reopened_count

Status = Ticket.Status


def reopened_count(ticket) -> int:
    return Ticket.objects.values_list("reopened_count", flat=True).get(pk=ticket.pk)


def stored() -> dict:
    return dict(Ticket.objects.values_list("pk", "reopened_count"))


def recomputed() -> dict:
    """Every ticket's reopens counted from its status events, by ticket pk."""
    return dict(Ticket.objects.annotate(computed=analysis.reopens_from_events()).values_list("pk", "computed"))


# --- Kept by the workflows ------------------------------------------------------------------------


def test_a_new_ticket_was_never_reopened(ticket):
    assert reopened_count(ticket) == 0


@pytest.mark.parametrize("finished", [Status.RESOLVED, Status.CLOSED])
def test_the_requester_reopening_counts(ticket, agent, employee, finished):
    services.ticket_update(ticket=ticket, actor=agent, status=finished)

    services.ticket_reopen(ticket=ticket, user=employee)

    assert reopened_count(ticket) == 1


@pytest.mark.parametrize("finished", [Status.RESOLVED, Status.CLOSED])
@pytest.mark.parametrize("reopened", [Status.NEW, Status.IN_PROGRESS, Status.WAITING])
def test_an_agent_setting_an_open_status_on_a_finished_ticket_counts(ticket, agent, finished, reopened):
    services.ticket_update(ticket=ticket, actor=agent, status=finished)

    services.ticket_update(ticket=ticket, actor=agent, status=reopened)

    assert reopened_count(ticket) == 1


def test_every_reopening_counts(ticket, agent, employee):
    services.ticket_update(ticket=ticket, actor=agent, status=Status.RESOLVED)
    services.ticket_reopen(ticket=ticket, user=employee)
    services.ticket_close(ticket=ticket, user=employee)
    services.ticket_update(ticket=ticket, actor=agent, status=Status.WAITING)

    assert reopened_count(ticket) == 2


def test_changes_that_do_not_reopen_do_not_count(ticket, agent, employee):
    services.ticket_take(ticket=ticket, agent=agent)  # new → in progress
    services.ticket_update(ticket=ticket, actor=agent, status=Status.WAITING)
    services.ticket_update(ticket=ticket, actor=agent, status=Status.NEW)
    services.ticket_update(ticket=ticket, actor=agent, status=Status.RESOLVED)
    services.ticket_close(ticket=ticket, user=employee)  # resolved → closed
    services.ticket_update(ticket=ticket, actor=agent, status=Status.RESOLVED)  # closed → resolved
    services.ticket_update(ticket=ticket, actor=agent, priority=Ticket.Priority.HIGH, assignee=None)
    services.ticket_comment(ticket=ticket, author=employee, body="Thanks!")

    assert reopened_count(ticket) == 0
    assert stored() == recomputed()


def test_the_jobs_resolve_and_close_without_counting(ticket, agent):
    services.ticket_update(ticket=ticket, actor=agent, status=Status.WAITING)
    long_ago = timezone.now() - timedelta(days=400)
    TicketEvent.objects.filter(ticket=ticket).update(created_at=long_ago)
    Ticket.objects.filter(pk=ticket.pk).update(updated_at=long_ago)

    assert jobs.resolve_abandoned().changed == [ticket.pk]
    Ticket.objects.filter(pk=ticket.pk).update(resolved_at=long_ago)
    assert jobs.close_resolved().changed == [ticket.pk]

    assert Ticket.objects.get(pk=ticket.pk).status == Status.CLOSED
    assert reopened_count(ticket) == 0


def test_the_count_is_rolled_back_with_the_event(ticket, employee):
    services.ticket_close(ticket=ticket, user=employee)

    with (
        mock.patch.object(TicketEvent.objects, "bulk_create", side_effect=DatabaseError("boom")),
        pytest.raises(DatabaseError),
    ):
        services.ticket_reopen(ticket=ticket, user=employee)

    assert reopened_count(ticket) == 0


def test_a_stale_copy_of_the_ticket_does_not_lose_a_reopening(ticket, agent, employee):
    stale = Ticket.objects.get(pk=ticket.pk)
    services.ticket_close(ticket=ticket, user=employee)
    services.ticket_reopen(ticket=ticket, user=employee)
    services.ticket_close(ticket=ticket, user=employee)

    services.ticket_reopen(ticket=stale, user=employee)  # the services re-read the row under a lock

    assert reopened_count(ticket) == 2


def test_the_analysis_counts_a_ticket_reopened_through_the_services(ticket, agent, employee, other_ticket):
    services.ticket_update(ticket=ticket, actor=agent, status=Status.RESOLVED)
    services.ticket_reopen(ticket=ticket, user=employee)
    services.ticket_update(ticket=ticket, actor=agent, status=Status.RESOLVED)
    services.ticket_reopen(ticket=ticket, user=employee)  # twice, still one reopened ticket
    services.ticket_update(ticket=other_ticket, actor=agent, status=Status.RESOLVED)
    today = timezone.localdate()

    result = analysis.analyse(tickets=Ticket.objects.all(), node=None, period=analysis.Period(today, today))

    assert (result.total.opened, result.total.reopened) == (2, 1)
    assert sorted(Ticket.objects.filter(analysis.was_reopened()).values_list("pk", flat=True)) == [ticket.pk]


# --- Filled by the migration ----------------------------------------------------------------------


def test_the_data_migration_counts_the_reopen_events(employee, agent, tree):
    def make(*changes):
        ticket = services.ticket_create(requester=employee, problem_source=tree["toner"], title="t", description="x")
        status, at = Status.NEW, datetime(2025, 3, 3, 9, tzinfo=UTC)
        for new in changes:
            at += timedelta(hours=1)
            TicketEvent.objects.create(
                ticket=ticket, actor=agent, kind=TicketEvent.Kind.STATUS, old_value=status, new_value=new, created_at=at
            )
            status = new
        Ticket.objects.filter(pk=ticket.pk).update(status=status)
        return ticket

    twice = make(Status.IN_PROGRESS, Status.RESOLVED, Status.IN_PROGRESS, Status.CLOSED, Status.NEW)
    once = make(Status.CLOSED, Status.WAITING, Status.RESOLVED)
    never = make(Status.IN_PROGRESS, Status.WAITING, Status.RESOLVED, Status.CLOSED, Status.RESOLVED)
    untouched = make()
    # Other kinds of events with the same values are no status change.
    TicketEvent.objects.create(ticket=never, kind=TicketEvent.Kind.PRIORITY, old_value="resolved", new_value="new")
    Ticket.objects.update(reopened_count=0)

    fill(apps, SimpleNamespace(connection=connection))

    assert stored() == {twice.pk: 2, once.pk: 1, never.pk: 0, untouched.pk: 0}
    assert stored() == recomputed()


# --- Set by the generators ------------------------------------------------------------------------


@pytest.mark.django_db
def test_generated_tickets_store_what_their_events_say():
    sizes = data_generator.Sizes(users=30, agents=4, nodes=30, depth=3, tickets=1000, years=1)
    now = datetime(2025, 6, 1, 12, tzinfo=UTC)
    data_generator.generate(sizes, now=now)

    values = stored()
    assert values == recomputed()
    reopened = [pk for pk, count in values.items() if count]
    assert 10 <= len(reopened) <= 100  # about 5 % of the tickets that end resolved or closed
    # The analysis counts exactly the tickets whose events reopen them.
    since_before_the_first = analysis.Period(date(2024, 5, 1), date(2025, 6, 1))
    total = analysis.analyse(tickets=Ticket.objects.all(), node=None, period=since_before_the_first).total
    assert total.opened == sizes.tickets
    assert total.reopened == len(reopened)


@pytest.mark.django_db
def test_reopened_demo_tickets_store_their_reopens():
    from devtools import demo_data

    demo_data.load_demo_data()

    values = stored()
    assert any(values.values())
    assert values == recomputed()
