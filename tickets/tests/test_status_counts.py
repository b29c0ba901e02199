"""Ticket counts per status, kept by database triggers (migration 0006), agree with a real count."""

import importlib

import pytest
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tickets import services
from tickets.models import Ticket, TicketStatusCount

Status = Ticket.Status


def counted() -> dict[str, int]:
    return dict(Ticket.objects.order_by().values_list("status").annotate(n=Count("pk")))


def kept() -> dict[str, int]:
    """The stored counts, without statuses that have no tickets (a row may remain at zero)."""
    return {status: count for status, count in TicketStatusCount.counts().items() if count}


def bulk(employee, tree, statuses, *, title: str = "Ticket"):
    """One ticket per status, titled "<title> 0", "<title> 1", …, in one INSERT."""
    return Ticket.objects.bulk_create(
        Ticket(requester=employee, problem_source=tree["software"], title=f"{title} {n}", description="d", status=s)
        for n, s in enumerate(statuses)
    )


def test_every_kind_of_write_keeps_the_counts(employee, agent, tree):
    ticket = services.ticket_create(requester=employee, problem_source=tree["paper_jam"], title="t", description="d")
    assert kept() == counted() == {Status.NEW: 1}

    bulk(employee, tree, [Status.NEW, Status.CLOSED, Status.CLOSED, Status.WAITING])
    assert kept() == counted() == {Status.NEW: 2, Status.CLOSED: 2, Status.WAITING: 1}

    services.ticket_update(ticket=ticket, actor=agent, status=Status.RESOLVED)  # a workflow: save()
    assert kept() == counted()

    Ticket.objects.filter(status=Status.CLOSED).update(status=Status.IN_PROGRESS)  # one statement, many rows
    assert kept() == counted() == {Status.NEW: 1, Status.RESOLVED: 1, Status.IN_PROGRESS: 2, Status.WAITING: 1}

    Ticket.objects.filter(status=Status.IN_PROGRESS).update(title="renamed")  # no status changes
    assert kept() == counted()

    Ticket.objects.filter(status__in=[Status.NEW, Status.WAITING]).delete()
    assert kept() == counted() == {Status.RESOLVED: 1, Status.IN_PROGRESS: 2}


def test_one_update_that_swaps_statuses_counts_both_ways(employee, tree):
    bulk(employee, tree, [Status.NEW, Status.NEW, Status.WAITING])
    Ticket.objects.update(status=Status.WAITING)
    assert kept() == counted() == {Status.WAITING: 3}


def test_counts_survive_emptying_both_tables(employee, tree):
    bulk(employee, tree, [Status.NEW])
    Ticket.objects.all().delete()
    TicketStatusCount.objects.all().delete()  # as a flush does

    bulk(employee, tree, [Status.CLOSED, Status.NEW])

    assert kept() == counted() == {Status.CLOSED: 1, Status.NEW: 1}


class Editor:
    """What the migration's functions use of a schema editor, inside the test's transaction."""

    connection = connection

    def execute(self, sql):
        with connection.cursor() as cursor:
            cursor.execute(sql)


def test_emptying_the_counts_before_the_tickets_leaves_no_negative_counts(employee, tree):
    bulk(employee, tree, [Status.NEW, Status.CLOSED])
    TicketStatusCount.objects.all().delete()  # a flush may empty this table first
    Ticket.objects.all().delete()
    assert not TicketStatusCount.objects.exists()

    bulk(employee, tree, [Status.CLOSED])

    assert kept() == counted() == {Status.CLOSED: 1}


def test_the_migration_counts_existing_tickets(employee, tree):
    migration = importlib.import_module("tickets.migrations.0006_ticket_status_counts")
    bulk(employee, tree, [Status.NEW, Status.CLOSED])
    migration.uninstall_triggers(None, Editor())
    try:
        bulk(employee, tree, [Status.CLOSED])  # not counted: no triggers
        TicketStatusCount.objects.all().delete()
        assert kept() == {}
    finally:
        migration.install_triggers(None, Editor())

    assert kept() == counted() == {Status.NEW: 1, Status.CLOSED: 2}
    bulk(employee, tree, [Status.CLOSED])
    assert kept() == counted() == {Status.NEW: 1, Status.CLOSED: 3}


def status_tabs(response) -> dict[str, int]:
    return {value: count for value, _label, count in response.context["status_counts"]}


@pytest.mark.parametrize("query", [{}, {"status": "open"}, {"sort": "title", "per_page": "50"}, {"source": "x"}])
def test_the_agent_list_reads_the_kept_counts_when_nothing_but_the_status_narrows_it(
    client, agent, employee, tree, query
):
    bulk(employee, tree, [Status.NEW, Status.CLOSED, Status.CLOSED])
    client.force_login(agent)

    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("tickets:list"), query)

    assert status_tabs(response)[Status.CLOSED] == 2
    assert status_tabs(response)[Status.NEW] == 1
    # The sidebar's team queues (tickets.sidebar) count only each team's open tickets, from a partial index.
    counted = [q["sql"] for q in captured if "COUNT(" in q["sql"].upper() and '"tickets_ticket"' in q["sql"]]
    assert not [sql for sql in counted if 'FROM "tickets_team"' not in sql]


def test_filtered_lists_and_employees_count_their_own_tickets(client, agent, employee, other_employee, tree):
    bulk(employee, tree, [Status.NEW, Status.CLOSED])
    bulk(other_employee, tree, [Status.CLOSED, Status.CLOSED, Status.WAITING])

    client.force_login(employee)
    assert status_tabs(client.get(reverse("tickets:list"))) == {
        Status.NEW: 1,
        Status.IN_PROGRESS: 0,
        Status.WAITING: 0,
        Status.RESOLVED: 0,
        Status.CLOSED: 1,
    }

    client.force_login(agent)
    narrowed = status_tabs(client.get(reverse("tickets:list"), {"requester": other_employee.username}))
    assert narrowed[Status.CLOSED] == 2
    assert narrowed[Status.WAITING] == 1
    assert narrowed[Status.NEW] == 0


# --- Searches count their matches up to a limit ----------------------------------------------------


@pytest.fixture
def small_count_limit(monkeypatch):
    from tickets import views

    monkeypatch.setattr(views, "SEARCH_COUNT_LIMIT", 5)


def printer_tickets(employee, tree, statuses):
    bulk(employee, tree, statuses, title="Printer")


def test_a_search_with_more_matches_than_the_limit_says_more_than(client, small_count_limit, agent, employee, tree):
    printer_tickets(employee, tree, [Status.CLOSED] * 6 + [Status.NEW])
    client.force_login(agent)

    response = client.get(reverse("tickets:list"), {"q": "printer", "per_page": "25"})

    assert set(status_tabs(response).values()) == {None}
    assert response.context["open_count"] is None
    assert "More than 5 tickets match" in response.content.decode()
    assert response.context["page"].paginator.count == 5
    assert [t.title for t in response.context["page"].object_list] == [f"Printer {n}" for n in range(6, 1, -1)]


def test_a_search_narrowed_by_status_counts_that_status_exactly(client, small_count_limit, agent, employee, tree):
    printer_tickets(employee, tree, [Status.CLOSED] * 6 + [Status.NEW, Status.WAITING])
    client.force_login(agent)

    response = client.get(reverse("tickets:list"), {"q": "printer", "status": "open"})

    assert response.context["page"].paginator.count == 2
    assert "2 tickets" in response.content.decode()
    assert not response.context["total_capped"]


def test_a_search_within_the_limit_counts_each_status(client, small_count_limit, agent, employee, tree):
    printer_tickets(employee, tree, [Status.CLOSED, Status.CLOSED, Status.NEW])
    bulk(employee, tree, [Status.CLOSED] * 4)  # titles without the word
    client.force_login(agent)

    response = client.get(reverse("tickets:list"), {"q": "printer"})

    assert status_tabs(response) == {
        Status.NEW: 1,
        Status.IN_PROGRESS: 0,
        Status.WAITING: 0,
        Status.RESOLVED: 0,
        Status.CLOSED: 2,
    }
    assert response.context["page"].paginator.count == 3


@pytest.mark.parametrize("query", [{}, {"status": "closed"}, {"requester": "erika"}])
def test_lists_that_do_not_search_count_every_ticket(client, small_count_limit, agent, employee, tree, query):
    printer_tickets(employee, tree, [Status.CLOSED] * 7)
    client.force_login(agent)

    response = client.get(reverse("tickets:list"), query)

    assert response.context["page"].paginator.count == 7
    assert not response.context["total_capped"]
    assert "7 tickets" in response.content.decode()
    assert "More than" not in response.content.decode()


def test_an_empty_list_shows_zero_on_every_tab(client, agent, employee, tree):
    bulk(employee, tree, [Status.NEW])
    client.force_login(agent)

    response = client.get(reverse("tickets:list"), {"q": "nothingmatchesthis"})

    assert set(status_tabs(response).values()) == {0}
    assert response.context["open_count"] == 0
    assert "{}" not in response.content.decode()


def test_a_search_without_words_counts_like_no_search(client, small_count_limit, agent, employee, tree):
    printer_tickets(employee, tree, [Status.CLOSED] * 7)
    client.force_login(agent)

    response = client.get(reverse("tickets:list"), {"q": "!!! ..."})

    assert status_tabs(response)[Status.CLOSED] == 7
    assert not response.context["total_capped"]
    assert "More than" not in response.content.decode()
