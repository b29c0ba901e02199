"""The ticket list as CSV: the list's filters and visibility (C5), formula neutralising, streaming."""

import csv
import io
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.models.query import QuerySet
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tickets import export_views, services
from tickets.models import Ticket

Status = Ticket.Status
HEADER = [
    "Number",
    "Title",
    "Status",
    "Priority",
    "Problem source",
    "Requester",
    "Responsible",
    "Created",
    "Updated",
    "Due date",
    "Resolved",
    "Closed",
]


def body_of(response) -> bytes:
    """The whole body of a streamed response (reading it to the end lets the test client close it)."""
    assert response.streaming
    return b"".join(response.streaming_content)


def rows_of(response) -> list[list[str]]:
    text = body_of(response).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


def export(client, **params):
    return client.get(reverse("tickets:export"), params)


def new_ticket(requester, source, title: str, **changes) -> Ticket:
    ticket = services.ticket_create(requester=requester, problem_source=source, title=title, description="text")
    if changes:
        Ticket.objects.filter(pk=ticket.pk).update(**changes)
    return Ticket.objects.get(pk=ticket.pk)


def test_header_bom_and_iso_dates(client, agent, employee, tree):
    ticket = new_ticket(
        employee,
        tree["paper_jam"],
        "Jam",
        created_at=datetime(2025, 3, 31, 22, 30, tzinfo=UTC),
        updated_at=datetime(2025, 4, 1, 8, 0, tzinfo=UTC),
        resolved_at=datetime(2025, 4, 2, 9, 15, 30, tzinfo=UTC),
        status=Status.RESOLVED,
        due_date=datetime(2025, 4, 3).date(),
        assignee=agent,
    )
    client.force_login(agent)

    response = export(client)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="tickets-')
    assert response["X-Content-Type-Options"] == "nosniff"
    header, row = rows_of(response)
    assert header == HEADER
    assert row == [
        str(ticket.pk),
        "Jam",
        "Resolved",
        "Normal",
        "Hardware › Printer › Paper jam",
        "Erika Tester",
        "Anna Tester",
        "2025-04-01T00:30:00+02:00",  # ISO 8601 in the site's time zone, with its offset
        "2025-04-01T10:00:00+02:00",
        "2025-04-03",
        "2025-04-02T11:15:30+02:00",
        "",
    ]


def test_an_empty_export_still_has_its_header(client, agent):
    client.force_login(agent)

    assert rows_of(export(client)) == [HEADER]


@pytest.mark.parametrize(
    ("title", "cell"),
    [
        ('=HYPERLINK("http://evil.example","click")', '\'=HYPERLINK("http://evil.example","click")'),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1+1", "'\t=1+1"),
        ("a = b + c", "a = b + c"),
        ("Printer 2 - floor 3", "Printer 2 - floor 3"),
    ],
)
def test_cells_that_spreadsheets_would_run_as_formulas_are_neutralised(client, agent, employee, tree, title, cell):
    new_ticket(employee, tree["software"], title)
    client.force_login(agent)

    rows = rows_of(export(client))

    assert rows[1][1] == cell


def test_names_are_neutralised_too(client, agent, tree):
    from conftest import make_user

    evil = make_user("mallory", first_name="=cmd", last_name="")
    new_ticket(evil, tree["software"], "Harmless")
    client.force_login(agent)

    assert rows_of(export(client))[1][5] == "'=cmd"


def test_employees_export_only_their_own_tickets(client, employee, other_employee, tree):
    new_ticket(employee, tree["software"], "Mine")
    new_ticket(other_employee, tree["software"], "Someone else's")
    client.force_login(employee)

    rows = rows_of(export(client))

    assert [row[1] for row in rows[1:]] == ["Mine"]


def test_employees_cannot_widen_the_export_with_agent_filters(client, employee, other_employee, tree):
    new_ticket(employee, tree["software"], "Mine")
    new_ticket(other_employee, tree["software"], "Someone else's")
    client.force_login(employee)

    rows = rows_of(export(client, requester="otto", assignee="none", responded="no", sort="requester__password"))

    assert [row[1] for row in rows[1:]] == ["Mine"]


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = export(client)

    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


def test_internal_notes_never_appear_and_are_not_searchable_by_employees(client, employee, agent, tree):
    ticket = new_ticket(employee, tree["software"], "Laptop slow")
    services.ticket_comment(ticket=ticket, author=agent, body="Confidential: xylophone", is_internal=True)
    client.force_login(employee)

    assert rows_of(export(client, q="xylophone")) == [HEADER]
    assert b"xylophone" not in body_of(export(client))

    client.force_login(agent)
    found = rows_of(export(client, q="xylophone"))
    assert [row[1] for row in found[1:]] == ["Laptop slow"]  # agents search notes, but never export them
    assert b"xylophone" not in body_of(export(client, q="xylophone"))


def test_the_export_has_the_list_filters_and_order(client, agent, employee, tree):
    for number, status in enumerate([Status.NEW, Status.RESOLVED, Status.WAITING, Status.NEW]):
        new_ticket(employee, tree["paper_jam"] if number % 2 else tree["software"], f"T{number}", status=status)
    client.force_login(agent)
    params = {"status": "open", "sort": "title", "source": tree["software"].pk}

    listed = [t.title for t in client.get(reverse("tickets:list"), params).context["page"].object_list]
    exported = [row[1] for row in rows_of(export(client, **params))[1:]]

    assert exported == listed == ["T0", "T2"]


def test_the_list_offers_the_export_with_its_query(client, agent):
    client.force_login(agent)

    html = client.get(reverse("tickets:list"), {"status": "open", "page": "1"}).content.decode()

    assert f'href="{reverse("tickets:export")}?status=open"' in html


def test_the_export_streams_from_an_iterator_in_chunks(client, agent, employee, tree, monkeypatch):
    for number in range(7):
        new_ticket(employee, tree["software"], f"Ticket {number}")
    chunk_sizes = []
    original_iterator = QuerySet.iterator

    def spy_iterator(self, chunk_size=None):
        chunk_sizes.append((self.model, chunk_size))
        return original_iterator(self, chunk_size=chunk_size)

    def refuse_to_list(self):
        if self.model is Ticket and self._result_cache is None:
            raise AssertionError("the export loaded all tickets at once")
        return original_fetch_all(self)

    original_fetch_all = QuerySet._fetch_all
    monkeypatch.setattr(QuerySet, "iterator", spy_iterator)
    monkeypatch.setattr(QuerySet, "_fetch_all", refuse_to_list)
    monkeypatch.setattr(export_views, "CSV_LINES_PER_CHUNK", 3)
    client.force_login(agent)

    with CaptureQueriesContext(connection) as before_reading:
        response = export(client)
    # Nothing about tickets was read yet: the rows come while the response is sent.
    assert not [q for q in before_reading.captured_queries if 'FROM "tickets_ticket"' in q["sql"]]
    assert response.streaming
    chunks = list(response.streaming_content)

    assert chunk_sizes == [(Ticket, export_views.EXPORT_CHUNK_SIZE)]
    assert export_views.EXPORT_CHUNK_SIZE == 2000
    assert chunks[0] == "\ufeff".encode()
    assert len(chunks) == 1 + 3  # the BOM, then 8 lines (header and 7 tickets) in chunks of 3
    assert len(rows_of_bytes(b"".join(chunks))) == 8


def rows_of_bytes(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8").removeprefix("\ufeff"))))


def test_neutralise_leaves_numbers_alone():
    assert export_views.neutralise(-5) == -5
    assert export_views.neutralise(-2.5) == -2.5
    assert export_views.neutralise("-5") == "'-5"
    assert export_views.neutralise("") == ""
