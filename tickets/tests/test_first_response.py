"""Ticket.first_response_at: kept by ticket_comment, filled by migration 0005, set by the generators."""

import importlib
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection

from devtools import data_generator
from tickets import analysis, services
from tickets.models import Comment, Ticket

fill = importlib.import_module("tickets.migrations.0005_ticket_first_response_at").fill_first_response_at


def first_response(ticket):
    return Ticket.objects.values_list("first_response_at", flat=True).get(pk=ticket.pk)


def recomputed() -> dict:
    """Every ticket's first agent response computed from its comments, by ticket pk."""
    rows = Ticket.objects.annotate(computed=analysis.first_agent_response_at()).values_list("pk", "computed")
    return dict(rows)


def stored() -> dict:
    return dict(Ticket.objects.values_list("pk", "first_response_at"))


def test_an_agents_public_reply_is_the_first_response(ticket, agent):
    comment = services.ticket_comment(ticket=ticket, author=agent, body="On my way.")

    assert first_response(ticket) == comment.created_at


def test_a_superusers_reply_counts(ticket, admin):
    comment = services.ticket_comment(ticket=ticket, author=admin, body="Looking into it.")

    assert first_response(ticket) == comment.created_at


def test_internal_notes_and_the_requesters_comments_are_no_response(ticket, employee, agent):
    services.ticket_comment(ticket=ticket, author=agent, body="Probably the fuser.", is_internal=True)
    services.ticket_comment(ticket=ticket, author=employee, body="Still jamming.")

    assert first_response(ticket) is None


def test_an_agents_comment_on_their_own_ticket_is_no_response(agent, second_agent, tree):
    own = services.ticket_create(requester=agent, problem_source=tree["software"], title="Mine", description="x")
    services.ticket_comment(ticket=own, author=agent, body="Any news?")
    assert first_response(own) is None

    reply = services.ticket_comment(ticket=own, author=second_agent, body="Yes.")
    assert first_response(own) == reply.created_at


def test_later_replies_keep_the_earliest(ticket, agent, second_agent):
    first = services.ticket_comment(ticket=ticket, author=agent, body="On my way.")
    services.ticket_comment(ticket=ticket, author=second_agent, body="Me too.")

    assert first_response(ticket) == first.created_at


def test_a_concurrent_earlier_reply_is_not_overwritten(ticket, agent):
    earlier = datetime(2025, 3, 1, 9, tzinfo=UTC)
    Ticket.objects.filter(pk=ticket.pk).update(first_response_at=earlier)  # written by another request

    services.ticket_comment(ticket=ticket, author=agent, body="On my way.")

    assert first_response(ticket) == earlier


def test_the_data_migration_fills_the_first_agent_response(employee, other_employee, agent, admin, tree):
    def make(requester, *replies):
        ticket = services.ticket_create(requester=requester, problem_source=tree["toner"], title="t", description="x")
        opened = datetime(2025, 3, 3, 9, tzinfo=UTC)
        Ticket.objects.filter(pk=ticket.pk).update(created_at=opened)
        for author, minutes, internal in replies:
            Comment.objects.create(
                ticket=ticket,
                author=author,
                body="c",
                is_internal=internal,
                created_at=opened + timedelta(minutes=minutes),
            )
        return ticket, opened

    answered, opened = make(employee, (employee, 5, False), (agent, 10, True), (agent, 30, False), (admin, 20, False))
    noted, _ = make(other_employee, (agent, 10, True), (other_employee, 15, False), (None, 40, False))
    own, own_opened = make(agent, (agent, 5, False), (admin, 50, False))
    silent, _ = make(employee)
    Ticket.objects.update(first_response_at=None)

    fill(apps, SimpleNamespace(connection=connection))

    assert stored() == {
        answered.pk: opened + timedelta(minutes=20),  # the superuser, before the agent; not the note
        noted.pk: None,  # an internal note, the requester and the system are no response
        own.pk: own_opened + timedelta(minutes=50),  # not the agent's comment on their own ticket
        silent.pk: None,
    }
    assert stored() == recomputed()


@pytest.mark.django_db
def test_generated_tickets_store_their_first_agent_response():
    sizes = data_generator.Sizes(users=20, agents=3, nodes=20, depth=3, tickets=300, comments_per_ticket=3, years=1)
    data_generator.generate(sizes, now=datetime(2025, 6, 1, 12, tzinfo=UTC))

    values = stored()
    assert any(values.values()) and not all(values.values())
    assert values == recomputed()


@pytest.mark.django_db
def test_backdated_demo_tickets_store_their_first_agent_response():
    from devtools import demo_data

    demo_data.load_demo_data()

    values = stored()
    assert any(values.values())
    assert values == recomputed()
