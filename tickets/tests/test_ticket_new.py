"""Filing a ticket through the pages: the problem-source picker and the ticket form."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tickets import problem_sources
from tickets.models import Attachment, Ticket, TicketEvent
from tickets.tests.page_helpers import messages_of, png_bytes, png_upload, stored_files

Kind = TicketEvent.Kind
Status = Ticket.Status
Priority = Ticket.Priority


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
