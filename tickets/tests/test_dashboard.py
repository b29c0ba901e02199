"""The dashboards of employees and IT staff: counters, queue and history."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from conftest import make_user
from tickets import services
from tickets.models import Ticket, TicketEvent

Kind = TicketEvent.Kind
Priority = Ticket.Priority


def test_employee_dashboard_shows_own_open_tickets_and_own_public_history(
    client, employee, other_employee, agent, board
):
    services.ticket_comment(ticket=board["Bravo"], author=agent, body="On my way", is_internal=False)
    services.ticket_comment(ticket=board["Bravo"], author=agent, body="Sekretnote", is_internal=True)
    services.ticket_comment(ticket=board["Charlie"], author=other_employee, body="Ottos own comment")
    client.force_login(employee)

    response = client.get(reverse("dashboard"))

    assert response.status_code == 200
    assert [t.title for t in response.context["my_open"]] == ["Bravo toner", "Alpha jam"]
    events = response.context["history"]["events"]
    assert {e.ticket_id for e in events} == {board["Alpha"].pk, board["Bravo"].pk, board["Echo"].pk}
    assert not any(e.is_internal for e in events)
    html = response.content.decode()
    assert "On my way" in html
    assert "Sekretnote" not in html
    assert "Ottos own comment" not in html
    assert "counters" not in response.context


def test_agent_dashboard_counters_and_queue(client, agent, second_agent, board):
    today = timezone.localdate()
    Ticket.objects.filter(pk=board["Alpha"].pk).update(due_date=today - timedelta(days=1))  # open, overdue
    Ticket.objects.filter(pk=board["Bravo"].pk).update(due_date=today)  # due today: not overdue yet
    Ticket.objects.filter(pk=board["Charlie"].pk).update(due_date=today - timedelta(days=3))  # overdue
    # Delta is resolved with a past due date: finished tickets are never overdue.
    extra = services.ticket_create(
        requester=board["Alpha"].requester,
        problem_source=board["Alpha"].problem_source,
        title="Foxtrot",
        description="f",
    )
    services.ticket_update(ticket=extra, actor=agent, assignee=agent, priority=Priority.HIGH)
    client.force_login(agent)

    response = client.get(reverse("dashboard"))

    assert response.status_code == 200
    assert response.context["counters"] == {"open": 4, "unassigned": 1, "mine": 2, "overdue": 2}
    # Same priority: the ticket with a due date comes first, on SQLite as on PostgreSQL.
    assert [t.title for t in response.context["queue"]] == ["Bravo toner", "Foxtrot"]
    client.force_login(second_agent)
    assert client.get(reverse("dashboard")).context["counters"]["mine"] == 1


def test_agent_dashboard_history_filter_by_problem_source_subtree(client, agent, tree, board):
    client.force_login(agent)

    everything = client.get(reverse("dashboard"))
    laptop = client.get(reverse("dashboard"), {"source": tree["laptop"].pk})
    printer = client.get(reverse("dashboard"), {"source": tree["printer"].pk})

    assert {e.ticket_id for e in everything.context["history"]["events"]} == {t.pk for t in board.values()}
    assert {e.ticket_id for e in laptop.context["history"]["events"]} == {board["Charlie"].pk, board["Echo"].pk}
    assert {e.ticket_id for e in printer.context["history"]["events"]} == {board["Alpha"].pk, board["Bravo"].pk}
    assert laptop.context["source"] == tree["laptop"]


@pytest.mark.parametrize("source", ["abc", "999999", "", "-1", "1;DROP TABLE", "²", "9" * 30])
def test_agent_dashboard_ignores_unknown_source(client, agent, board, source):
    client.force_login(agent)

    response = client.get(reverse("dashboard"), {"source": source})

    assert response.status_code == 200
    assert response.context["source"] is None
    assert len(response.context["history"]["events"]) == len(board)


def test_dashboard_history_pages(client, agent, ticket):
    for number in range(29):
        services.ticket_comment(ticket=ticket, author=agent, body=f"Comment number {number}")
    client.force_login(agent)

    first = client.get(reverse("dashboard"))
    second = client.get(reverse("dashboard"), {"page": "2"})
    beyond = client.get(reverse("dashboard"), {"page": "99999"})
    garbage = client.get(reverse("dashboard"), {"page": "abc"})

    assert len(first.context["history"]["events"]) == 25  # 30 events: created + 29 comments
    assert first.context["history"]["has_next"] and not first.context["history"]["has_previous"]
    assert first.context["history"]["events"][0].comment == "Comment number 28"  # newest first
    assert len(second.context["history"]["events"]) == 5
    assert second.context["history"]["has_previous"] and not second.context["history"]["has_next"]
    assert second.context["history"]["events"][-1].kind == Kind.CREATED
    assert "page=1" in second.content.decode()
    assert beyond.status_code == 200
    assert beyond.context["history"]["events"] == []
    assert garbage.context["history"]["number"] == 1


def test_dashboard_for_a_user_without_anything(client, db):
    client.force_login(make_user("newbie"))

    response = client.get(reverse("dashboard"))

    assert response.status_code == 200
    assert "You have no open tickets." in response.content.decode()
