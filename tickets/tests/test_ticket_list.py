"""The ticket list: filters, search, sorting, paging, status counts and what employees see."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tickets import services
from tickets.models import Ticket
from tickets.tests.page_helpers import messages_of, titles

ALL = ["Echo laptop", "Delta excel", "Charlie battery", "Bravo toner", "Alpha jam"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ALL),
        ({"status": "new"}, ["Alpha jam"]),
        ({"status": "open"}, ["Charlie battery", "Bravo toner", "Alpha jam"]),
        ({"status": ["resolved", "closed"]}, ["Echo laptop", "Delta excel"]),
        ({"status": ["open", "closed"]}, ["Echo laptop", "Charlie battery", "Bravo toner", "Alpha jam"]),
        ({"priority": "3"}, ["Echo laptop", "Bravo toner"]),
        ({"priority": ["1", "2"]}, ["Delta excel", "Charlie battery", "Alpha jam"]),
        ({"source": "printer"}, ["Bravo toner", "Alpha jam"]),
        ({"source": "hardware"}, ["Echo laptop", "Charlie battery", "Bravo toner", "Alpha jam"]),
        ({"source": "laptop"}, ["Echo laptop", "Charlie battery"]),
        ({"source": "paper_jam"}, ["Alpha jam"]),
        ({"assignee": "me"}, ["Delta excel", "Bravo toner"]),
        ({"assignee": "none"}, ["Echo laptop", "Alpha jam"]),
        ({"assignee": "second_agent"}, ["Charlie battery"]),
        ({"requester": "otto"}, ["Delta excel", "Charlie battery"]),
        ({"requester": "OTTO@EXAMPLE.COM"}, ["Delta excel", "Charlie battery"]),
        ({"requester": "Erika"}, ["Echo laptop", "Bravo toner", "Alpha jam"]),
        ({"created_from": "2024-02-10", "created_to": "2024-04-10"}, ["Delta excel", "Charlie battery", "Bravo toner"]),
        ({"created_from": "2024-05-01"}, ["Echo laptop"]),
        ({"created_to": "2024-01-31"}, ["Alpha jam"]),
        ({"q": "toner"}, ["Bravo toner"]),
        ({"q": "About Charlie"}, ["Charlie battery"]),
        ({"status": "open", "source": "hardware", "assignee": "none"}, ["Alpha jam"]),
    ],
)
def test_agent_list_filters(client, agent, second_agent, tree, board, query, expected):
    query = dict(query)
    if "source" in query:
        query["source"] = tree[query["source"]].pk
    if query.get("assignee") == "second_agent":
        query["assignee"] = second_agent.pk
    client.force_login(agent)

    response = client.get(reverse("tickets:list"), query)

    assert response.status_code == 200
    assert not response.context["form"].errors
    assert titles(response) == expected


def test_search_finds_words_in_public_comments(client, agent, other_employee, board):
    # Delta's requester (only the requester and IT staff write on a ticket)
    services.ticket_comment(ticket=board["Delta"], author=other_employee, body="The macro panics on Fridays")
    client.force_login(agent)

    assert titles(client.get(reverse("tickets:list"), {"q": "panics"})) == ["Delta excel"]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("", ALL),
        ("-created", ALL),
        ("created", ALL[::-1]),
        ("title", ["Alpha jam", "Bravo toner", "Charlie battery", "Delta excel", "Echo laptop"]),
        ("-priority", ["Echo laptop", "Bravo toner", "Delta excel", "Charlie battery", "Alpha jam"]),
        ("priority", ["Alpha jam", "Delta excel", "Charlie battery", "Echo laptop", "Bravo toner"]),
        ("status", ["Alpha jam", "Bravo toner", "Charlie battery", "Delta excel", "Echo laptop"]),
        ("-updated", ALL),
    ],
)
def test_agent_list_sorts_by_allow_listed_keys(client, agent, board, sort, expected):
    client.force_login(agent)

    response = client.get(reverse("tickets:list"), {"sort": sort})

    assert titles(response) == expected


def test_list_sort_by_due_date_puts_undated_tickets_last_on_every_database(client, agent, board):
    client.force_login(agent)

    response = client.get(reverse("tickets:list"), {"sort": "due"})

    assert titles(response) == ["Delta excel", "Charlie battery", "Bravo toner", "Echo laptop", "Alpha jam"]


@pytest.mark.parametrize(
    "query",
    [
        {"sort": "requester__password"},
        {"sort": "-requester__password"},
        {"sort": "requester__password", "status": "open"},
        {"status": "requester__password"},
        {"status": "bogus"},
        {"priority": "9"},
        {"priority": "high"},
        {"source": "999999"},
        {"source": "9" * 30},
        {"source": "²"},
        {"assignee": "9" * 30},
        {"page": "1", "per_page": "9" * 30},
        {"source": "hardware"},
        {"assignee": "123456"},
        {"assignee": "requester__is_superuser"},
        {"created_from": "yesterday"},
        {"created_from": "2024-05-01", "created_to": "2024-01-01"},
        {"created_to": "2024-13-45"},
        {"per_page": "7"},
        {"per_page": "-1"},
    ],
)
def test_list_ignores_unknown_filter_values_with_a_message(client, agent, board, query):
    client.force_login(agent)

    response = client.get(reverse("tickets:list"), query)

    assert response.status_code == 200
    assert response.context["form"].errors
    assert "Some filters were ignored" in response.content.decode()
    valid = {key: value for key, value in query.items() if key not in response.context["form"].errors}
    expected = titles(client.get(reverse("tickets:list"), valid))
    assert titles(response) == expected


def test_sort_by_requester_password_leaves_the_default_order(client, agent, employee, other_employee, board):
    # Passwords sort the other way round than the default (newest first) would.
    employee.set_password("zzzz-last")
    employee.save()
    other_employee.set_password("aaaa-first")
    other_employee.save()
    client.force_login(agent)

    response = client.get(reverse("tickets:list"), {"sort": "requester__password"})

    assert titles(response) == ALL


@pytest.fixture
def many_tickets(employee, tree):
    def create(count: int):
        now = timezone.now()
        Ticket.objects.bulk_create(
            Ticket(
                requester=employee,
                problem_source=tree["software"],
                title=f"Bulk {number:03d}",
                description="bulk",
                created_at=now - timedelta(minutes=number),
                updated_at=now,
            )
            for number in range(count)
        )

    return create


@pytest.mark.parametrize("page", ["99999", "abc", "-1", "0", "2.5", "²", "1" * 40])
def test_list_out_of_range_or_garbage_page_shows_the_last_page(client, agent, many_tickets, page):
    many_tickets(30)
    client.force_login(agent)

    response = client.get(reverse("tickets:list"), {"page": page})

    assert response.status_code == 200
    assert response.context["page"].number == 2
    assert len(titles(response)) == 5
    assert messages_of(response) == [f"There is no page {page[:12]}; this is the last page."]


def test_list_page_two(client, agent, many_tickets):
    many_tickets(30)
    client.force_login(agent)

    response = client.get(reverse("tickets:list"), {"page": "2"})

    assert titles(response) == [f"Bulk {n:03d}" for n in range(25, 30)]
    assert messages_of(response) == []


@pytest.mark.parametrize(("per_page", "shown"), [("1000", 25), ("101", 25), ("100", 100), ("50", 50), ("", 25)])
def test_list_page_size_is_capped_at_100(client, agent, many_tickets, per_page, shown):
    many_tickets(120)
    client.force_login(agent)

    response = client.get(reverse("tickets:list"), {"per_page": per_page})

    assert response.status_code == 200
    assert response.context["page"].paginator.per_page == shown
    assert len(titles(response)) == shown <= 100


FUZZ = [
    "'",
    '"',
    "';--",
    '" OR 1=1 --',
    "%",
    "%%",
    "_",
    "__init__",
    "\\",
    "\\%",
    "a\\_b",
    "\x00",
    "toner\x00",
    "x" * 201,
    "toner " * 50,
    "a" * 10_000,
    "é ß 中文 🙂",
    "toner:* & !printer | (",
    "<->",
    "$$ $1",
    "%s %d {0}",
    "NULL",
    "\r\n\t",
]


@pytest.mark.parametrize("text", FUZZ)
def test_list_search_fuzz_never_errors(client, agent, board, text):
    client.force_login(agent)

    response = client.get(reverse("tickets:list"), {"q": text})

    assert response.status_code in (200, 400)


def test_underscore_in_search_is_not_a_like_wildcard(client, agent, board):
    Ticket.objects.filter(pk=board["Alpha"].pk).update(title="Alpha qxz")
    client.force_login(agent)

    assert titles(client.get(reverse("tickets:list"), {"q": "qxz"})) == ["Alpha qxz"]
    # As a LIKE pattern "q_z" would match "qxz"; as text it must not.
    assert titles(client.get(reverse("tickets:list"), {"q": "q_z"})) == []


def test_status_tab_counts(client, agent, tree, board):
    client.force_login(agent)

    everything = client.get(reverse("tickets:list"))
    printer = client.get(reverse("tickets:list"), {"source": tree["printer"].pk, "status": "new"})

    counts = {value: count for value, _label, count in everything.context["status_counts"]}
    assert counts == {"new": 1, "in_progress": 1, "waiting": 1, "resolved": 1, "closed": 1}
    assert everything.context["open_count"] == 3
    # Counts keep every filter but the status, so the tabs say what clicking them would show.
    counts = {value: count for value, _label, count in printer.context["status_counts"]}
    assert counts == {"new": 1, "in_progress": 1, "waiting": 0, "resolved": 0, "closed": 0}
    assert printer.context["open_count"] == 2
    assert titles(printer) == ["Alpha jam"]


def test_employee_list_shows_own_tickets_only(client, employee, other_employee, board):
    client.force_login(employee)

    response = client.get(reverse("tickets:list"))
    crafted = client.get(reverse("tickets:list"), {"requester": "otto", "assignee": "none"})

    assert titles(response) == ["Echo laptop", "Bravo toner", "Alpha jam"]
    counts = {value: count for value, _label, count in response.context["status_counts"]}
    assert counts == {"new": 1, "in_progress": 1, "waiting": 0, "resolved": 0, "closed": 1}
    # Employees have no requester/assignee filters; crafted values are dropped, not applied.
    assert titles(crafted) == ["Echo laptop", "Bravo toner", "Alpha jam"]
    html = response.content.decode()
    assert "Charlie battery" not in html
    assert "Delta excel" not in html


def test_employee_search_only_searches_own_tickets(client, employee, board):
    client.force_login(employee)

    assert titles(client.get(reverse("tickets:list"), {"q": "Charlie"})) == []
    assert titles(client.get(reverse("tickets:list"), {"q": "Bravo"})) == ["Bravo toner"]
