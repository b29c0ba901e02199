"""The ticket workflows as people use them: through the pages, with the test client."""

import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from conftest import make_user
from tickets import problem_sources, services
from tickets.attachments import check_upload
from tickets.models import Attachment, Comment, Ticket, TicketEvent

Kind = TicketEvent.Kind
Status = Ticket.Status
Priority = Ticket.Priority


def png_bytes(colour=(0, 90, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (3, 3), colour).save(buffer, "PNG")
    return buffer.getvalue()


def png_upload(name: str = "screen.png", colour=(0, 90, 200)) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png_bytes(colour), content_type="image/png")


def checked_png(name: str = "screen.png"):
    return check_upload(png_upload(name))


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def stored_files(root) -> list[Path]:
    root = Path(root)
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def body_of(response) -> bytes:
    """The whole body of a response. Reading a download to the end makes the test client close it
    (and its file); calling ``close()`` again here would also close the test's database connection."""
    return b"".join(response.streaming_content) if response.streaming else response.content


def titles(response) -> list[str]:
    return [ticket.title for ticket in response.context["page"].object_list]


def noon(day: date) -> datetime:
    # Midday UTC is the same calendar day in Europe/Berlin, so date filters are unambiguous.
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


# --- The problem-source picker --------------------------------------------------------------------


def picker_names(response) -> list[str]:
    assert response.templates[0].name == "tickets/ticket_picker.html"
    return [choice.name_en for choice in response.context["level"].choices]


def test_picker_root_shows_only_active_roots(client, employee, tree):
    problem_sources.problem_source_create(name_en="Old phones", name_de="Alte Telefone", is_active=False)

    client.force_login(employee)

    response = client.get(reverse("tickets:new"))

    assert response.status_code == 200
    assert picker_names(response) == ["Hardware", "Software"]
    assert "Old phones" not in response.content.decode()


def test_picker_node_with_active_children_shows_them_and_never_inactive_ones(client, employee, tree):
    client.force_login(employee)

    response = client.get(reverse("tickets:new"), {"source": tree["hardware"].pk})

    assert picker_names(response) == ["Printer", "Laptop"]
    html = response.content.decode()
    assert "Fax" not in html
    assert "Paper jam" not in html  # grandchildren wait for the next step
    assert f"?source={tree['printer'].pk}" in html


def test_picker_node_whose_children_are_all_inactive_is_a_leaf(client, employee, tree):
    only_inactive = problem_sources.problem_source_create(parent=tree["software"], name_en="ERP")
    problem_sources.problem_source_create(parent=only_inactive, name_en="ERP v1", is_active=False)
    client.force_login(employee)

    response = client.get(reverse("tickets:new"), {"source": only_inactive.pk})

    assert response.templates[0].name == "tickets/ticket_form.html"
    assert response.context["form"].initial["problem_source"] == only_inactive.pk


def test_picker_leaf_shows_the_form_with_the_breadcrumb(client, employee, tree):
    client.force_login(employee)

    response = client.get(reverse("tickets:new"), {"source": tree["paper_jam"].pk})

    assert response.status_code == 200
    assert response.templates[0].name == "tickets/ticket_form.html"
    assert [node.name_en for node in response.context["path"]] == ["Hardware", "Printer", "Paper jam"]
    html = response.content.decode()
    assert f'name="problem_source" value="{tree["paper_jam"].pk}"' in html
    assert "Hardware › Printer › Paper jam" in html
    assert f'href="{reverse("tickets:new")}?source={tree["printer"].pk}"' in html  # breadcrumb link back


def test_picker_selectable_inner_node_offers_file_here(client, employee, tree):
    client.force_login(employee)
    laptop = tree["laptop"]

    drill = client.get(reverse("tickets:new"), {"source": laptop.pk})
    here = client.get(reverse("tickets:new"), {"source": laptop.pk, "here": "1"})

    assert picker_names(drill) == ["Battery"]
    assert f'picker-choice-here card h-100" href="{reverse("tickets:new")}?source={laptop.pk}&amp;here=1"' in (
        drill.content.decode()
    )
    assert here.templates[0].name == "tickets/ticket_form.html"
    assert here.context["form"].initial["problem_source"] == laptop.pk


def test_picker_non_selectable_inner_node_ignores_here(client, employee, tree):
    client.force_login(employee)

    response = client.get(reverse("tickets:new"), {"source": tree["printer"].pk, "here": "1"})

    assert picker_names(response) == ["Paper jam", "Toner empty"]
    assert "picker-choice-here" not in response.content.decode()


@pytest.mark.parametrize("source", ["unknown", "retired", "retired_child", "abc", "-1", "1e3", " 1", "²", "9" * 30])
def test_picker_refuses_unavailable_or_garbage_sources(client, employee, tree, source):
    client.force_login(employee)
    value = {"unknown": "987654", "retired": tree["retired"].pk, "retired_child": tree["retired_child"].pk}.get(
        source, source
    )

    response = client.get(reverse("tickets:new"), {"source": value})

    assert response.status_code == 302
    assert response["Location"] == reverse("tickets:new")
    assert messages_of(response) == ["That problem source is not available. Please choose again."]


# --- Filing a ticket -------------------------------------------------------------------------------


def ticket_post(tree, **changes) -> dict:
    data = {
        "problem_source": tree["paper_jam"].pk,
        "title": "Printer jams on floor 3",
        "description": "Every page since Monday.",
        "priority": Priority.HIGH,
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_filing_a_ticket_with_an_attachment(client, employee, tree, attachment_root):
    client.force_login(employee)
    content = png_bytes()

    response = client.post(
        reverse("tickets:new"),
        ticket_post(tree, attachments=[SimpleUploadedFile("Bildschirm.png", content, content_type="image/png")]),
    )

    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("tickets:detail", args=[ticket.pk])
    assert (ticket.requester, ticket.problem_source, ticket.title, ticket.priority, ticket.status) == (
        employee,
        tree["paper_jam"],
        "Printer jams on floor 3",
        Priority.HIGH,
        Status.NEW,
    )
    assert ticket.description == "Every page since Monday."
    assert sorted(TicketEvent.objects.filter(ticket=ticket).values_list("kind", flat=True)) == [
        Kind.ATTACHMENT,
        Kind.CREATED,
    ]
    attachment = Attachment.objects.get(ticket=ticket)
    assert (attachment.original_name, attachment.content_type, attachment.size) == (
        "Bildschirm.png",
        "image/png",
        len(content),
    )
    with attachment.file.open("rb") as stored:
        assert stored.read() == content
    assert f"Ticket #{ticket.pk} was created" in messages_of(response)[0]


def test_filing_without_attachment_on_selectable_inner_node(client, employee, tree):
    client.force_login(employee)

    response = client.post(reverse("tickets:new"), ticket_post(tree, problem_source=tree["laptop"].pk))

    assert response.status_code == 302
    assert Ticket.objects.get().problem_source == tree["laptop"]
    assert not Attachment.objects.exists()


@pytest.mark.parametrize(
    ("case", "error"),
    [
        ("missing_source", "Please choose a problem source first."),
        ("unknown_source", "That problem source does not exist. Please choose again."),
        ("garbage_source", "That problem source does not exist. Please choose again."),
        ("inner_node", "Please choose a more specific problem source."),
        ("inactive_node", "This problem source is no longer offered."),
        ("under_inactive_parent", "This problem source is no longer offered."),
        ("oversize_file", "files may be at most"),
        ("html_named_png", "is not an allowed file type"),
        ("too_many_files", "At most 2 files can be added at once."),
        ("missing_title", "This field is required."),
        ("blank_title", "This field is required."),
        ("missing_description", "This field is required."),
        ("bad_priority", "Select a valid choice."),
    ],
)
def test_filing_with_bad_input_shows_an_error_and_changes_nothing(
    client, employee, tree, settings, attachment_root, case, error
):
    settings.ATTACHMENT_MAX_FILES = 2
    good_file = png_upload()
    changes = {
        "missing_source": {"problem_source": None},
        "unknown_source": {"problem_source": 987654},
        "garbage_source": {"problem_source": "1 OR 1=1"},
        "inner_node": {"problem_source": tree["printer"].pk},
        "inactive_node": {"problem_source": tree["retired"].pk},
        "under_inactive_parent": {"problem_source": tree["retired_child"].pk},
        "oversize_file": {"attachments": [good_file]},
        "html_named_png": {
            "attachments": [
                good_file,
                SimpleUploadedFile("cat.png", b"<html><script>alert(1)</script></html>", content_type="image/png"),
            ]
        },
        "too_many_files": {"attachments": [png_upload(f"s{i}.png") for i in range(3)]},
        "missing_title": {"title": None, "attachments": [good_file]},
        "blank_title": {"title": "   "},
        "missing_description": {"description": None},
        "bad_priority": {"priority": 9},
    }[case]
    if case == "oversize_file":
        settings.ATTACHMENT_MAX_BYTES = 20
    client.force_login(employee)

    response = client.post(reverse("tickets:new"), ticket_post(tree, **changes))

    assert response.status_code == 400
    assert response.templates[0].name == "tickets/ticket_form.html"
    assert error in response.content.decode()
    assert not Ticket.objects.exists()
    assert not TicketEvent.objects.exists()
    assert not Attachment.objects.exists()
    assert stored_files(attachment_root) == []


def test_filing_form_error_keeps_the_chosen_source_in_the_breadcrumb(client, employee, tree):
    client.force_login(employee)

    response = client.post(reverse("tickets:new"), ticket_post(tree, title=""))

    assert response.status_code == 400
    assert [node.name_en for node in response.context["path"]] == ["Hardware", "Printer", "Paper jam"]


# --- Comments, notes and attachments ---------------------------------------------------------------


def test_requester_reply_with_attachment(client, employee, ticket):
    client.force_login(employee)

    response = client.post(
        reverse("tickets:comment", args=[ticket.pk]), {"body": "Still broken", "attachments": [png_upload("b.png")]}
    )

    assert response.status_code == 302
    assert response["Location"] == ticket.get_absolute_url()
    comment = Comment.objects.get(ticket=ticket)
    assert (comment.author, comment.body, comment.is_internal) == (employee, "Still broken", False)
    assert [a.original_name for a in Attachment.objects.filter(comment=comment)] == ["b.png"]
    assert messages_of(response) == ["Reply added."]


def test_agent_internal_note(client, agent, ticket):
    client.force_login(agent)

    response = client.post(
        reverse("tickets:comment", args=[ticket.pk]), {"body": "Check the fuser", "is_internal": "on"}
    )

    assert response.status_code == 302
    comment = Comment.objects.get(ticket=ticket)
    assert comment.is_internal is True
    event = TicketEvent.objects.get(ticket=ticket, comment=comment)
    assert (event.kind, event.is_internal, event.actor) == (Kind.INTERNAL_NOTE, True, agent)
    assert messages_of(response) == ["Internal note added."]


def test_empty_comment_is_refused_and_changes_nothing(client, employee, ticket):
    client.force_login(employee)
    events_before = TicketEvent.objects.count()

    response = client.post(reverse("tickets:comment", args=[ticket.pk]), {"body": "   "})

    assert response.status_code == 400
    assert not Comment.objects.exists()
    assert TicketEvent.objects.count() == events_before


def test_attach_without_file_is_refused(client, employee, ticket):
    client.force_login(employee)

    response = client.post(reverse("tickets:attach", args=[ticket.pk]), {})

    assert response.status_code == 400
    assert not Attachment.objects.exists()


def test_attach_adds_files_to_the_ticket(client, employee, ticket):
    client.force_login(employee)

    response = client.post(
        reverse("tickets:attach", args=[ticket.pk]), {"upload-attachments": [png_upload("a.png"), png_upload("b.png")]}
    )

    assert response.status_code == 302
    assert [a.original_name for a in Attachment.objects.filter(ticket=ticket)] == ["a.png", "b.png"]
    assert TicketEvent.objects.filter(ticket=ticket, kind=Kind.ATTACHMENT).count() == 2


def test_attachment_download_headers_and_bytes(client, employee, ticket):
    content = png_bytes((10, 20, 30))
    services.ticket_attach(
        ticket=ticket, user=employee, files=[check_upload(SimpleUploadedFile("Fehler 1.png", content, "text/html"))]
    )
    attachment = Attachment.objects.get()
    client.force_login(employee)

    response = client.get(attachment.get_absolute_url())

    assert response.status_code == 200
    assert body_of(response) == content
    assert response["Content-Disposition"] == 'attachment; filename="Fehler 1.png"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "image/png"  # detected, not the browser's claim


def test_text_attachment_is_served_as_plain_text_never_html(client, employee, ticket):
    upload = SimpleUploadedFile("notes.txt", b"<script>alert(1)</script>\n", content_type="text/html")
    services.ticket_attach(ticket=ticket, user=employee, files=[check_upload(upload)])
    client.force_login(employee)

    response = client.get(Attachment.objects.get().get_absolute_url())
    body_of(response)

    assert response["Content-Type"] == "text/plain"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "sandbox" in response["Content-Security-Policy"]


def test_attachment_download_with_non_ascii_filename(client, employee, ticket):
    services.ticket_attach(ticket=ticket, user=employee, files=[checked_png("Störung äöü.png")])
    client.force_login(employee)

    response = client.get(Attachment.objects.get().get_absolute_url())
    body_of(response)

    assert response.status_code == 200
    assert response["Content-Disposition"] == "attachment; filename*=utf-8''St%C3%B6rung%20%C3%A4%C3%B6%C3%BC.png"


# --- Close and reopen ---------------------------------------------------------------------------


def test_requester_closes_own_ticket(client, employee, ticket):
    client.force_login(employee)

    response = client.post(reverse("tickets:close", args=[ticket.pk]))

    ticket.refresh_from_db()
    assert response.status_code == 302
    assert ticket.status == Status.CLOSED
    assert ticket.closed_at is not None
    event = TicketEvent.objects.get(ticket=ticket, kind=Kind.STATUS)
    assert (event.old_value, event.new_value, event.actor) == (Status.NEW, Status.CLOSED, employee)


def test_closing_a_closed_ticket_again_writes_nothing(client, employee, ticket):
    services.ticket_close(ticket=ticket, user=employee)
    client.force_login(employee)
    events_before = TicketEvent.objects.count()

    response = client.post(reverse("tickets:close", args=[ticket.pk]))

    assert response.status_code == 302
    assert TicketEvent.objects.count() == events_before
    assert messages_of(response) == ["This ticket is already closed."]


def test_requester_reopens_within_the_reopen_window(client, employee, ticket, settings):
    settings.TICKET_REOPEN_DAYS = 3
    services.ticket_close(ticket=ticket, user=employee)
    Ticket.objects.filter(pk=ticket.pk).update(closed_at=timezone.now() - timedelta(days=2, hours=23))
    client.force_login(employee)

    detail = client.get(ticket.get_absolute_url())
    response = client.post(reverse("tickets:reopen", args=[ticket.pk]))

    assert reverse("tickets:reopen", args=[ticket.pk]) in detail.content.decode()
    ticket.refresh_from_db()
    assert response.status_code == 302
    assert ticket.status == Status.NEW
    assert ticket.closed_at is None
    assert messages_of(response) == ["Ticket reopened."]


def test_requester_cannot_reopen_after_the_reopen_window(client, employee, ticket, settings):
    settings.TICKET_REOPEN_DAYS = 3
    services.ticket_close(ticket=ticket, user=employee)
    Ticket.objects.filter(pk=ticket.pk).update(closed_at=timezone.now() - timedelta(days=3, minutes=1))
    client.force_login(employee)
    events_before = TicketEvent.objects.count()

    detail = client.get(ticket.get_absolute_url())
    response = client.post(reverse("tickets:reopen", args=[ticket.pk]))

    assert reverse("tickets:reopen", args=[ticket.pk]) not in detail.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED
    assert TicketEvent.objects.count() == events_before
    assert messages_of(response) == ["This ticket can no longer be reopened. Please file a new ticket."]


# --- Agents working a ticket --------------------------------------------------------------------


def test_agent_takes_a_new_ticket(client, agent, ticket):
    client.force_login(agent)

    response = client.post(reverse("tickets:take", args=[ticket.pk]))

    ticket.refresh_from_db()
    assert response.status_code == 302
    assert (ticket.assignee, ticket.status) == (agent, Status.IN_PROGRESS)
    events = TicketEvent.objects.filter(ticket=ticket).exclude(kind=Kind.CREATED)
    assert sorted((e.kind, e.old_value, e.new_value) for e in events) == [
        (Kind.ASSIGNMENT, "", str(agent.pk)),
        (Kind.STATUS, Status.NEW, Status.IN_PROGRESS),
    ]


def update_data(ticket, **changes) -> dict:
    data = {
        "status": ticket.status,
        "priority": ticket.priority,
        "assignee": ticket.assignee_id or "",
        "problem_source": ticket.problem_source_id,
        "due_date": ticket.due_date.isoformat() if ticket.due_date else "",
    }
    data.update(changes)
    return data


def test_agent_update_writes_one_event_per_changed_field(client, agent, second_agent, ticket, tree):
    client.force_login(agent)

    response = client.post(
        reverse("tickets:update", args=[ticket.pk]),
        update_data(
            ticket,
            status=Status.WAITING,
            priority=Priority.LOW,
            assignee=second_agent.pk,
            problem_source=tree["toner"].pk,
            due_date="2031-05-06",
        ),
    )

    assert response.status_code == 302
    assert messages_of(response) == ["Ticket updated."]
    events = TicketEvent.objects.filter(ticket=ticket).exclude(kind=Kind.CREATED)
    assert sorted((e.kind, e.old_value, e.new_value) for e in events) == sorted(
        [
            (Kind.STATUS, Status.NEW, Status.WAITING),
            (Kind.PRIORITY, str(Priority.NORMAL), str(Priority.LOW)),
            (Kind.ASSIGNMENT, "", str(second_agent.pk)),
            (Kind.PROBLEM_SOURCE, str(tree["paper_jam"].pk), str(tree["toner"].pk)),
            (Kind.DUE_DATE, "", "2031-05-06"),
        ]
    )
    assert all(e.actor == agent for e in events)


def test_agent_update_of_one_field_writes_one_event(client, agent, ticket):
    client.force_login(agent)

    client.post(reverse("tickets:update", args=[ticket.pk]), update_data(ticket, priority=Priority.HIGH))

    events = TicketEvent.objects.filter(ticket=ticket).exclude(kind=Kind.CREATED)
    assert [(e.kind, e.old_value, e.new_value) for e in events] == [
        (Kind.PRIORITY, str(Priority.NORMAL), str(Priority.HIGH))
    ]


def test_agent_update_without_changes_writes_nothing(client, agent, ticket):
    client.force_login(agent)
    before = Ticket.objects.get(pk=ticket.pk).updated_at

    response = client.post(reverse("tickets:update", args=[ticket.pk]), update_data(ticket))

    assert response.status_code == 302
    assert messages_of(response) == ["Nothing changed."]
    assert list(TicketEvent.objects.filter(ticket=ticket).values_list("kind", flat=True)) == [Kind.CREATED]
    assert Ticket.objects.get(pk=ticket.pk).updated_at == before


@pytest.mark.parametrize(
    "changes",
    [
        {"status": "deleted"},
        {"priority": "7"},
        {"due_date": "31.02.2030"},
        {"problem_source": "999999"},
        {"assignee": "employee"},  # replaced by the employee's id: not an agent
    ],
)
def test_agent_update_with_invalid_values_is_refused(client, agent, employee, ticket, changes):
    if changes.get("assignee") == "employee":
        changes = {"assignee": employee.pk}
    client.force_login(agent)

    response = client.post(
        reverse("tickets:update", args=[ticket.pk]), update_data(ticket, **{"status": Status.RESOLVED, **changes})
    )

    assert response.status_code == 400
    assert Ticket.objects.get(pk=ticket.pk).status == Status.NEW
    assert list(TicketEvent.objects.filter(ticket=ticket).values_list("kind", flat=True)) == [Kind.CREATED]


# --- Internal notes stay internal (C5) -----------------------------------------------------------


@pytest.fixture
def conversation(ticket, agent):
    reply = services.ticket_comment(ticket=ticket, author=agent, body="Public answer: restart it", files=[])
    note = services.ticket_comment(
        ticket=ticket,
        author=agent,
        body="Xylophonevault password is hunter2",
        is_internal=True,
        files=[checked_png("secret-plan.png")],
    )
    return {"reply": reply, "note": note, "secret": Attachment.objects.get(comment=note)}


@pytest.mark.parametrize("page", ["detail", "dashboard"])
def test_employee_sees_the_reply_but_never_the_internal_note(client, employee, agent, ticket, conversation, page):
    url = ticket.get_absolute_url() if page == "detail" else reverse("dashboard")

    client.force_login(employee)
    employee_html = client.get(url).content.decode()
    client.force_login(agent)
    agent_html = client.get(url).content.decode()

    secret = conversation["secret"]
    assert "Public answer: restart it" in employee_html
    for hidden in ("Xylophonevault", "hunter2", "secret-plan.png", secret.get_absolute_url(), "wrote an internal note"):
        assert hidden not in employee_html
    # The same page shows the note to IT staff, so the check above is about visibility, not markup.
    assert "hunter2" in agent_html
    assert "secret-plan.png" in agent_html


def test_employee_search_does_not_find_words_of_internal_notes(client, employee, agent, ticket, conversation):
    client.force_login(employee)
    employee_hits = titles(client.get(reverse("tickets:list"), {"q": "Xylophonevault"}))
    client.force_login(agent)
    agent_hits = titles(client.get(reverse("tickets:list"), {"q": "Xylophonevault"}))

    assert employee_hits == []
    assert agent_hits == [ticket.title]


# --- The ticket list --------------------------------------------------------------------------------


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


def test_search_finds_words_in_public_comments(client, agent, employee, board):
    services.ticket_comment(ticket=board["Delta"], author=employee, body="The macro panics on Fridays")
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


# --- Dashboards -------------------------------------------------------------------------------------


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
