"""Pages run a fixed number of queries: pinned to measured numbers, and the same for 5 or 500 rows.

Each test renders a page with little data, adds a lot more, and renders it again. The second render
must not need more queries than the first (no query per row), and both stay under the pinned limit.
The limits include the session and the signed-in person (loaded with their role), and for agents
the sidebar's saved lists (one query).
"""

from datetime import timedelta

import pytest
from django.core.cache import caches
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from conftest import make_user
from tickets import problem_sources, services
from tickets.attachments import check_upload
from tickets.models import ProblemSource, Ticket, TicketEvent


def text_file(name: str):
    return check_upload(SimpleUploadedFile(name, b"log line\n", content_type="text/plain"))


def queries_for(client, url: str, data=None) -> int:
    """Queries of one request, with an empty cache (sessions are read from the database)."""
    caches["default"].clear()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, data or {})
    assert response.status_code == 200
    return len(captured)


def assert_flat(client, url, grow, limit, django_assert_max_num_queries, data=None):
    """Measure, grow the data, measure again: equal counts, and both within ``limit``."""
    small = queries_for(client, url, data)
    grow()
    with django_assert_max_num_queries(limit):
        large = queries_for(client, url, data)
    assert large == small, f"{small} queries with little data, {large} with more: a query per row"
    return small


# --- Ticket list ---------------------------------------------------------------------------------


def busy_tickets(count: int, tree, agents, requesters):
    """Tickets spread over requesters, assignees, sources and statuses, like a real list page."""
    sources = [tree["paper_jam"], tree["toner"], tree["battery"], tree["laptop"], tree["software"]]
    statuses = list(Ticket.Status.values)
    for number in range(count):
        ticket = services.ticket_create(
            requester=requesters[number % len(requesters)],
            problem_source=sources[number % len(sources)],
            title=f"Ticket {number}",
            description="text",
        )
        Ticket.objects.filter(pk=ticket.pk).update(
            status=statuses[number % len(statuses)],
            assignee=agents[number % len(agents)] if number % 3 else None,
            due_date=timezone.localdate() - timedelta(days=number % 4),
        )


@pytest.mark.parametrize(
    ("query", "limit"),
    [
        # The page's ids, their rows, the agents to choose from.
        ({}, 7),
        ({"status": "open", "sort": "-priority"}, 7),
        ({"q": "Ticket", "source": "hardware", "assignee": "me", "requester": "erika", "per_page": "100"}, 9),
    ],
)
def test_ticket_list_for_agent_has_constant_query_count(
    client, tree, employee, other_employee, agent, second_agent, django_assert_max_num_queries, query, limit
):
    query = {**query, "source": tree["hardware"].pk} if "source" in query else query
    people = {"agents": [agent, second_agent], "requesters": [employee, other_employee]}
    busy_tickets(5, tree, **people)
    client.force_login(agent)

    def grow():
        busy_tickets(55, tree, **people)
        make_user("carla", agent=True)  # one more agent in the assignee filter

    assert_flat(client, reverse("tickets:list"), grow, limit, django_assert_max_num_queries, query)


def test_ticket_list_for_employee_has_constant_query_count(
    client, tree, employee, agent, django_assert_max_num_queries
):
    busy_tickets(5, tree, agents=[agent], requesters=[employee])
    client.force_login(employee)

    assert_flat(
        client,
        reverse("tickets:list"),
        lambda: busy_tickets(55, tree, agents=[agent], requesters=[employee]),
        5,
        django_assert_max_num_queries,
    )


# --- Ticket detail -------------------------------------------------------------------------------


def busy_conversation(ticket, *, comments: int, people, tree):
    """Replies and internal notes with files, plus every kind of field change."""
    employee, agent, second_agent = people
    for number in range(comments):
        author = (employee, agent, second_agent)[number % 3]
        internal = author is not employee and number % 2 == 0
        files = [text_file(f"log-{number}.txt")] if number % 5 == 0 else []
        services.ticket_comment(
            ticket=ticket, author=author, body=f"Comment {number}", is_internal=internal, files=files
        )
    services.ticket_attach(ticket=ticket, user=employee, files=[text_file("a.txt"), text_file("b.txt")])
    ticket.refresh_from_db()
    services.ticket_update(
        ticket=ticket,
        actor=agent,
        status=Ticket.Status.IN_PROGRESS if ticket.status != Ticket.Status.IN_PROGRESS else Ticket.Status.WAITING,
        priority=Ticket.Priority.HIGH if ticket.priority != Ticket.Priority.HIGH else Ticket.Priority.LOW,
        assignee=second_agent if ticket.assignee_id != second_agent.pk else agent,
        problem_source=tree["toner"] if ticket.problem_source_id != tree["toner"].pk else tree["software"],
        due_date=timezone.localdate() + timedelta(days=TicketEvent.objects.filter(ticket=ticket).count()),
    )


@pytest.mark.parametrize(("persona", "limit"), [("agent", 10), ("employee", 8)])
def test_ticket_detail_has_constant_query_count(
    client, ticket, tree, employee, agent, second_agent, django_assert_max_num_queries, persona, limit
):
    people = (employee, agent, second_agent)
    busy_conversation(ticket, comments=2, people=people, tree=tree)
    client.force_login({"agent": agent, "employee": employee}[persona])

    assert_flat(
        client,
        ticket.get_absolute_url(),
        lambda: [busy_conversation(ticket, comments=16, people=people, tree=tree) for _round in range(3)],
        limit,
        django_assert_max_num_queries,
    )


# --- Dashboards ----------------------------------------------------------------------------------


def busy_history(tree, people, *, tickets: int):
    employee, agent, second_agent = people
    busy_tickets(tickets, tree, agents=[agent, second_agent], requesters=[employee])
    for ticket in Ticket.objects.order_by("-pk")[:tickets]:
        busy_conversation(ticket, comments=3, people=people, tree=tree)


# ``few`` tickets give just enough events that the page shown has every kind of event on it.
@pytest.mark.parametrize(
    ("persona", "query", "few", "limit"),
    [
        ("agent", {}, 3, 8),
        ("agent", {"source": "hardware"}, 3, 9),
        ("agent", {"source": "hardware", "page": "2"}, 6, 9),
        ("employee", {}, 3, 6),
        ("employee", {"page": "2"}, 6, 6),
    ],
)
def test_dashboard_has_constant_query_count(
    client, tree, employee, agent, second_agent, django_assert_max_num_queries, persona, query, few, limit
):
    query = {**query, "source": tree["hardware"].pk} if "source" in query else query
    people = (employee, agent, second_agent)
    busy_history(tree, people, tickets=few)
    client.force_login({"agent": agent, "employee": employee}[persona])

    assert_flat(
        client,
        reverse("dashboard"),
        lambda: busy_history(tree, people, tickets=20),
        limit,
        django_assert_max_num_queries,
        query,
    )


# --- Picker --------------------------------------------------------------------------------------


def grow_tree(tree, *, width: int):
    """Many siblings under each level the picker shows, some inactive, some with children."""
    create = problem_sources.problem_source_create
    for number in range(width):
        root = create(name_en=f"Root {number}", is_active=number % 4 != 0)
        create(parent=root, name_en=f"Child of root {number}")
        child = create(parent=tree["hardware"], name_en=f"Hardware {number}", is_active=number % 5 != 0)
        if number % 2:
            create(parent=child, name_en=f"Grandchild {number}")


@pytest.mark.parametrize(
    ("step", "limit"),
    [("root", 4), ("hardware", 6), ("laptop", 7), ("paper_jam", 7), ("laptop_here", 7)],
)
def test_picker_has_constant_query_count(client, tree, employee, django_assert_max_num_queries, step, limit):
    query = {}
    if step != "root":
        query = {"source": tree[step.removesuffix("_here")].pk}
    if step.endswith("_here"):
        query["here"] = "1"
    client.force_login(employee)

    assert_flat(
        client, reverse("tickets:new"), lambda: grow_tree(tree, width=12), limit, django_assert_max_num_queries, query
    )


# --- At scale ------------------------------------------------------------------------------------


def test_deep_list_pages_run_the_queries_of_the_first_page(
    client, agent, employee, tree, django_assert_max_num_queries
):
    Ticket.objects.bulk_create(
        Ticket(requester=employee, problem_source=tree["software"], title=f"Bulk {n}", description="d")
        for n in range(260)
    )
    client.force_login(agent)
    first = queries_for(client, reverse("tickets:list"))

    with django_assert_max_num_queries(first):
        deep = client.get(reverse("tickets:list"), {"page": "11"})

    assert deep.context["page"].number == 11
    assert [t.title for t in deep.context["page"].object_list] == [f"Bulk {n}" for n in range(9, -1, -1)]


@pytest.mark.parametrize("step", ["root", "wide"])
def test_picker_of_a_2000_node_tree_has_the_query_count_of_a_small_one(
    client, employee, tree, django_assert_max_num_queries, step
):
    from devtools import data_generator

    client.force_login(employee)
    query = {} if step == "root" else {"source": tree["hardware"].pk}
    small = queries_for(client, reverse("tickets:new"), query)
    data_generator.generate(data_generator.Sizes(users=5, agents=1, nodes=2000, depth=5, tickets=0))
    if step == "wide":
        query = {"source": max(ProblemSource.objects.filter(level=0), key=lambda node: node.rght).pk}

    with django_assert_max_num_queries(small):
        response = client.get(reverse("tickets:new"), query)

    assert response.status_code == 200
    assert len(response.context["level"].choices) >= 5


def test_filing_a_ticket_costs_the_same_queries_for_5_or_50_it_agents(employee, tree):
    """New tickets notify every agent; the outbox rows and their one delivery task are written in bulk."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from conftest import make_user
    from tickets import services

    def queries_to_file() -> int:
        with CaptureQueriesContext(connection) as captured:
            services.ticket_create(requester=employee, problem_source=tree["paper_jam"], title="t", description="d")
        return len([q for q in captured if q["sql"].split()[0].upper() not in TRANSACTION_CONTROL])

    for number in range(5):
        make_user(f"few{number}", agent=True)
    few = queries_to_file()
    for number in range(45):
        make_user(f"many{number}", agent=True)

    # routing (the node's effective team and rule; none when the node comes from the ticket form,
    # which loads it with them), ticket, event, agents, preferences, dedupe check, rows, task
    assert queries_to_file() == few <= 8


# --- Writing -------------------------------------------------------------------------------------


TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE")


def posted(client, url: str, data: dict) -> list[str]:
    """The statements a POST runs, as the bench counts them: without transaction control (in a test,
    the workflow's transaction is a savepoint inside the test's)."""
    with CaptureQueriesContext(connection) as captured:
        response = client.post(url, data)
    assert response.status_code == 302, response.content[:500]
    return [q["sql"] for q in captured if q["sql"].split()[0].upper() not in TRANSACTION_CONTROL]


@pytest.fixture
def production_sessions(settings):
    """Sessions as production keeps them with Redis: read from the cache (here the test's memory)."""
    settings.SESSION_ENGINE = "core.sessions"


def test_filing_a_ticket_through_the_form_stays_within_ten_queries(
    client, production_sessions, employee, agent, second_agent, tree
):
    client.force_login(employee)
    data = {"problem_source": tree["paper_jam"].pk, "title": "Jam", "description": "Tray 2", "priority": "2"}
    few = posted(client, reverse("tickets:new"), data)
    for number in range(20):
        make_user(f"extra{number}", agent=True)

    many = posted(client, reverse("tickets:new"), data)

    assert len(many) == len(few) <= 10, "\n".join(many)


@pytest.mark.parametrize("author", ["agent", "employee"])
def test_a_comment_stays_within_ten_queries(
    client, production_sessions, ticket, tree, employee, agent, second_agent, author
):
    services.ticket_take(ticket=ticket, agent=agent)
    client.force_login({"agent": agent, "employee": employee}[author])
    url = reverse("tickets:comment", args=[ticket.pk])
    first = posted(client, url, {"body": "First"})  # for an agent: the first response, stored
    busy_conversation(ticket, comments=10, people=(employee, agent, second_agent), tree=tree)

    later = posted(client, url, {"body": "Later"})

    assert len(later) == len(first) <= 10, "\n".join(later)
