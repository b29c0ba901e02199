"""Fixtures shared by the ticket page tests."""

from datetime import date

import pytest

from tickets import services
from tickets.models import Ticket
from tickets.tests.page_helpers import noon

Status = Ticket.Status
Priority = Ticket.Priority


@pytest.fixture
def board(employee, other_employee, agent, second_agent, tree):
    """Five tickets, one per status, spread over requesters, assignees, sources, priorities and dates."""
    # title, requester, source, priority, status, assignee, created, due
    rows = [
        ("Alpha jam", employee, "paper_jam", Priority.LOW, Status.NEW, None, date(2024, 1, 10), None),
        ("Bravo toner", employee, "toner", Priority.HIGH, Status.IN_PROGRESS, agent, date(2024, 2, 10),
         date(2024, 6, 1)),
        ("Charlie battery", other_employee, "battery", Priority.NORMAL, Status.WAITING, second_agent,
         date(2024, 3, 10), date(2024, 5, 1)),
        ("Delta excel", other_employee, "software", Priority.NORMAL, Status.RESOLVED, agent, date(2024, 4, 10),
         date(2024, 4, 1)),
        ("Echo laptop", employee, "laptop", Priority.HIGH, Status.CLOSED, None, date(2024, 5, 10), None),
    ]  # fmt: skip
    tickets = {}
    for title, requester, source, priority, status, assignee, created, due in rows:
        ticket = services.ticket_create(
            requester=requester,
            problem_source=tree[source],
            title=title,
            description=f"About {title}",
            priority=priority,
        )
        Ticket.objects.filter(pk=ticket.pk).update(
            status=status, assignee=assignee, created_at=noon(created), updated_at=noon(created), due_date=due
        )
        tickets[title.split()[0]] = Ticket.objects.get(pk=ticket.pk)
    return tickets
