"""Who may reach which ticket URL: one matrix for every URL with an object id (C3, C4, C10).

Personas: the ticket's requester ("owner"), another employee, an IT agent and an anonymous visitor.
Anything a persona may not see answers 404 (never 403, which would confirm the id exists);
anonymous visitors are sent to the sign-in page with ``next``.
"""

import io
from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from tickets import services
from tickets.attachments import check_upload
from tickets.models import Attachment, Comment, Ticket, TicketEvent

Status = Ticket.Status
PERSONAS = ["owner", "other_employee", "agent", "anonymous"]


def png_bytes(colour=(0, 90, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (3, 3), colour).save(buffer, "PNG")
    return buffer.getvalue()


def png_upload(name: str = "screen.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png_bytes(), content_type="image/png")


def checked_png(name: str = "screen.png"):
    return check_upload(png_upload(name))


def state(ticket: Ticket) -> dict:
    """Everything a request could change about a ticket, to prove that nothing did."""
    row = Ticket.objects.get(pk=ticket.pk)
    return {
        "fields": {
            name: getattr(row, name)
            for name in (
                "title",
                "description",
                "status",
                "priority",
                "assignee_id",
                "problem_source_id",
                "due_date",
                "updated_at",
                "resolved_at",
                "closed_at",
                "requester_id",
            )
        },
        "events": list(TicketEvent.objects.filter(ticket=row).values_list("pk", flat=True).order_by("pk")),
        "comments": list(Comment.objects.filter(ticket=row).values_list("pk", "is_internal").order_by("pk")),
        "attachments": list(Attachment.objects.filter(ticket=row).values_list("pk", flat=True).order_by("pk")),
    }


@pytest.fixture
def personas(employee, other_employee, agent):
    return {"owner": employee, "other_employee": other_employee, "agent": agent, "anonymous": None}


@pytest.fixture
def attachment(ticket, employee) -> Attachment:
    services.ticket_attach(ticket=ticket, user=employee, files=[checked_png("owner.png")])
    return Attachment.objects.get(ticket=ticket)


def body_of(response) -> bytes:
    """The whole body of a response. Reading a download to the end makes the test client close it
    (and its file); calling ``close()`` again here would also close the test's database connection."""
    return b"".join(response.streaming_content) if response.streaming else response.content


def sign_in(client, user):
    if user is not None:
        client.force_login(user)
    return client


def assert_login_redirect(response, url: str):
    assert response.status_code == 302
    target = urlsplit(response["Location"])
    assert target.path == reverse(settings.LOGIN_URL)
    assert parse_qs(target.query)["next"] == [url]


# --- The matrix -----------------------------------------------------------------------------------

# url name -> (method, expected status per persona except anonymous). 302 is the success redirect.
MATRIX = {
    "detail": ("get", {"owner": 200, "other_employee": 404, "agent": 200}),
    "attachment": ("get", {"owner": 200, "other_employee": 404, "agent": 200}),
    "comment": ("post", {"owner": 302, "other_employee": 404, "agent": 302}),
    "attach": ("post", {"owner": 302, "other_employee": 404, "agent": 302}),
    "take": ("post", {"owner": 404, "other_employee": 404, "agent": 302}),
    "update": ("post", {"owner": 404, "other_employee": 404, "agent": 302}),
    "close": ("post", {"owner": 302, "other_employee": 404, "agent": 302}),
    "reopen": ("post", {"owner": 302, "other_employee": 404, "agent": 302}),
    # Only the requester rates (tickets.ratings); agents see the ticket but may not rate it.
    "rate": ("post", {"owner": 302, "other_employee": 404, "agent": 404}),
}


def request_for(name: str, ticket: Ticket, attachment: Attachment, tree) -> tuple[str, dict]:
    """The URL and a valid POST body for each action (valid, so only permissions can refuse it)."""
    if name == "attachment":
        return reverse("tickets:attachment", args=[ticket.pk, attachment.pk]), {}
    url = reverse(f"tickets:{name}", args=[ticket.pk])
    data = {
        "comment": {"body": "Any news?"},
        "attach": {"upload-attachments": [png_upload("more.png")]},
        "rate": {"answer": "down", "comment": "Still broken", "reopen": "on"},
        "update": {
            "status": Status.WAITING,
            "priority": Ticket.Priority.HIGH,
            "assignee": "",
            "problem_source": tree["toner"].pk,
            "due_date": "2030-01-31",
        },
    }.get(name, {})
    return url, data


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("name", list(MATRIX))
def test_permission_matrix_for_every_ticket_url(client, personas, ticket, attachment, tree, name, persona):
    if name == "reopen":
        services.ticket_close(ticket=ticket, user=ticket.requester)
    if name == "rate":
        services.ticket_update(ticket=ticket, actor=personas["agent"], status=Status.RESOLVED)
    method, expected = MATRIX[name]
    url, data = request_for(name, ticket, attachment, tree)
    before = state(ticket)

    response = getattr(sign_in(client, personas[persona]), method)(url, data)
    body_of(response)

    if persona == "anonymous":
        assert_login_redirect(response, url)
        assert state(ticket) == before
        return
    assert response.status_code == expected[persona]
    if expected[persona] == 404:
        assert state(ticket) == before, "a refused request must not change anything"
    elif expected[persona] == 302:
        assert response["Location"] == ticket.get_absolute_url()
        assert state(ticket) != before, "the permitted action must really have happened"


@pytest.mark.parametrize("name", list(MATRIX))
def test_unknown_ticket_id_is_404_for_agents_too(client, agent, ticket, attachment, tree, name):
    method, _expected = MATRIX[name]
    url, data = request_for(name, ticket, attachment, tree)
    url = url.replace(f"/{ticket.pk}/", f"/{ticket.pk + 1000}/", 1)

    response = getattr(sign_in(client, agent), method)(url, data)

    assert response.status_code == 404


@pytest.mark.parametrize("name", list(MATRIX))
def test_absurdly_large_ticket_id_is_404_not_500(client, agent, ticket, attachment, tree, name):
    method, _expected = MATRIX[name]
    url, data = request_for(name, ticket, attachment, tree)
    huge = "9" * 30
    url = url.replace(f"/{ticket.pk}/", f"/{huge}/", 1).replace(f"/{attachment.pk}/", f"/{huge}/")

    response = getattr(sign_in(client, agent), method)(url, data)

    assert response.status_code == 404


def test_inactive_user_session_is_treated_as_signed_out(client, employee, ticket):
    client.force_login(employee)
    employee.is_active = False
    employee.save()

    response = client.get(ticket.get_absolute_url())

    assert response.status_code == 302
    assert response["Location"].startswith(reverse(settings.LOGIN_URL))


# --- Nested ids -----------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["owner_of_b", "owner_of_both", "agent"])
def test_attachment_of_ticket_a_through_url_of_ticket_b_is_404(
    client, employee, other_employee, agent, tree, ticket, attachment, persona
):
    owner_of_b = other_employee if persona == "owner_of_b" else employee
    ticket_b = services.ticket_create(
        requester=owner_of_b, problem_source=tree["toner"], title="Ticket B", description="b"
    )
    user = agent if persona == "agent" else owner_of_b

    response = sign_in(client, user).get(reverse("tickets:attachment", args=[ticket_b.pk, attachment.pk]))

    assert response.status_code == 404
    # The right URL works for the same person when they may see ticket A: the 404 is about nesting.
    if user in (employee, agent):
        response = client.get(attachment.get_absolute_url())
        assert response.status_code == 200
        body_of(response)


def test_employee_cannot_download_attachment_of_internal_note_on_own_ticket(client, employee, agent, ticket):
    note = services.ticket_comment(
        ticket=ticket, author=agent, body="Admin password is in the vault", is_internal=True, files=[checked_png()]
    )
    secret = Attachment.objects.get(comment=note)
    assert secret.is_internal

    employee_response = sign_in(client, employee).get(secret.get_absolute_url())
    client.logout()
    agent_response = sign_in(client, agent).get(secret.get_absolute_url())

    assert employee_response.status_code == 404
    assert agent_response.status_code == 200
    with secret.file.open("rb") as stored:
        assert body_of(agent_response) == stored.read()


def test_missing_file_on_disk_is_404_not_500(client, employee, attachment):
    attachment.file.storage.delete(attachment.file.name)

    response = sign_in(client, employee).get(attachment.get_absolute_url())

    assert response.status_code == 404


# --- Role confusion: crafted POSTs by employees (C4) -------------------------------------------


CRAFTED = {
    "status": Status.RESOLVED,
    "priority": Ticket.Priority.HIGH,
    "problem_source": "",  # filled in per test
    "due_date": "2030-12-24",
    "is_internal": "on",
}


@pytest.mark.parametrize("action", ["take", "update"])
@pytest.mark.parametrize("who", ["owner", "other_employee"])
def test_employee_crafted_post_to_agent_views_changes_nothing(client, personas, agent, tree, ticket, action, who):
    data = {**CRAFTED, "assignee": personas[who].pk, "problem_source": tree["software"].pk}
    before = state(ticket)

    response = sign_in(client, personas[who]).post(reverse(f"tickets:{action}", args=[ticket.pk]), data)

    assert response.status_code == 404
    assert state(ticket) == before


def test_employee_crafted_comment_cannot_write_internal_note_or_change_fields(client, employee, agent, tree, ticket):
    data = {**CRAFTED, "body": "Please hurry", "assignee": agent.pk, "problem_source": tree["software"].pk}
    before = state(ticket)

    response = sign_in(client, employee).post(reverse("tickets:comment", args=[ticket.pk]), data)

    assert response.status_code == 302
    comment = Comment.objects.get(ticket=ticket)
    assert comment.body == "Please hurry"
    assert comment.is_internal is False
    after = state(ticket)
    for field in ("status", "priority", "assignee_id", "problem_source_id", "due_date", "resolved_at", "closed_at"):
        assert after["fields"][field] == before["fields"][field]
    new_events = TicketEvent.objects.filter(ticket=ticket).exclude(pk__in=before["events"])
    assert [(e.kind, e.is_internal) for e in new_events] == [(TicketEvent.Kind.COMMENT, False)]


def test_employee_crafted_close_of_foreign_ticket_changes_nothing(client, employee, other_ticket):
    before = state(other_ticket)

    response = sign_in(client, employee).post(
        reverse("tickets:close", args=[other_ticket.pk]), {"status": Status.CLOSED}
    )

    assert response.status_code == 404
    assert state(other_ticket) == before


def test_agent_update_form_is_not_offered_to_employees(client, employee, ticket):
    response = sign_in(client, employee).get(ticket.get_absolute_url())

    html = response.content.decode()
    assert response.status_code == 200
    assert reverse("tickets:update", args=[ticket.pk]) not in html
    assert reverse("tickets:take", args=[ticket.pk]) not in html
    assert 'name="is_internal"' not in html


def test_agent_can_do_what_employees_cannot(client, agent, tree, ticket):
    """The counterpart of the crafted-POST tests: the same body by an agent changes the ticket."""
    data = {**CRAFTED, "assignee": agent.pk, "problem_source": tree["software"].pk}

    response = sign_in(client, agent).post(reverse("tickets:update", args=[ticket.pk]), data)

    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED
    assert ticket.priority == Ticket.Priority.HIGH
    assert ticket.assignee == agent
    assert ticket.problem_source == tree["software"]
    assert ticket.due_date == date(2030, 12, 24)


# --- GET never writes (C10) -----------------------------------------------------------------------

POST_ONLY = ["comment", "attach", "take", "update", "close", "reopen", "rate"]
AGENT_ONLY = {"take", "update"}


# Agent-only views answer employees 404 before the method check; see the test below this one.
GET_CASES = [
    (name, who) for name in POST_ONLY for who in ("owner", "agent") if who == "agent" or name not in AGENT_ONLY
]


@pytest.mark.parametrize(("name", "who"), GET_CASES)
def test_get_on_post_only_url_is_405_and_writes_nothing(client, personas, ticket, name, who):
    if name == "reopen":
        services.ticket_close(ticket=ticket, user=ticket.requester)
    before = state(ticket)
    query = {"body": "x", "status": Status.CLOSED, "assignee": personas["agent"].pk}

    response = sign_in(client, personas[who]).get(reverse(f"tickets:{name}", args=[ticket.pk]), query)

    assert response.status_code == 405
    assert "POST" in response["Allow"]
    assert state(ticket) == before


@pytest.mark.parametrize("name", sorted(AGENT_ONLY))
def test_get_on_agent_only_url_by_employee_is_404_and_writes_nothing(client, employee, ticket, name):
    before = state(ticket)

    response = sign_in(client, employee).get(reverse(f"tickets:{name}", args=[ticket.pk]))

    assert response.status_code == 404
    assert state(ticket) == before


@pytest.mark.parametrize("name", ["detail", "attachment"])
def test_post_on_read_only_url_is_405(client, employee, ticket, attachment, tree, name):
    url, _data = request_for(name, ticket, attachment, tree)
    before = state(ticket)

    response = sign_in(client, employee).post(url, {"body": "x"})

    assert response.status_code == 405
    assert state(ticket) == before
