"""A ticket's page and its actions: comments, notes, attachments, close and reopen, agents' updates."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from tickets import services
from tickets.attachments import check_upload
from tickets.models import Attachment, Comment, Ticket, TicketEvent
from tickets.tests.page_helpers import body_of, checked_png, messages_of, png_bytes, png_upload, titles

Kind = TicketEvent.Kind
Status = Ticket.Status
Priority = Ticket.Priority


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
