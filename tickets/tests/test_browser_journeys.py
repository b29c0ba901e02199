"""The two journeys every release must keep working, driven in headless Chromium.

1. An employee files a ticket by drilling down three levels of the problem-source tree, with an
   attached file and a screenshot pasted from the clipboard.
2. An agent finds it by a filter, takes it, writes an internal note and a public reply and resolves
   it; the employee then sees the reply and the timeline, but not the note.
"""

import base64
import io
import re

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from tickets.models import Attachment, Comment, Ticket, TicketEvent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def png_bytes(color="red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(buffer, format="PNG")
    return buffer.getvalue()


def sign_in(page: Page, live_server, username: str, password: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hello")


def file_ticket(page: Page, live_server) -> Ticket:
    page.get_by_role("link", name="New ticket").first.click()
    page.get_by_role("link", name=re.compile("^Hardware")).click()
    page.get_by_role("link", name=re.compile("^Printer")).click()
    page.get_by_role("link", name=re.compile("^Paper jam")).click()

    expect(page.locator(".picker-breadcrumb")).to_contain_text("Printer")
    page.get_by_label("Title").fill("Printer on floor 2 eats paper")
    page.get_by_label("Description").fill("Every second page jams in tray 2.")
    page.get_by_text("High", exact=True).click()
    page.locator("input[name=attachments]").set_input_files(
        files=[{"name": "error-page.png", "mimeType": "image/png", "buffer": png_bytes()}]
    )
    # Paste a screenshot into the description, as a user would with Ctrl+V.
    page.evaluate(
        """async (base64) => {
            const bytes = Uint8Array.from(atob(base64), c => c.charCodeAt(0));
            const data = new DataTransfer();
            data.items.add(new File([bytes], "clipboard.png", {type: "image/png"}));
            const event = new ClipboardEvent("paste", {clipboardData: data, bubbles: true, cancelable: true});
            document.querySelector("textarea[name=description]").dispatchEvent(event);
        }""",
        base64.b64encode(png_bytes("blue")).decode(),
    )
    expect(page.locator(".paste-preview img")).to_have_count(2)

    page.get_by_role("button", name="Submit ticket").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Printer on floor 2 eats paper")
    return Ticket.objects.get(title="Printer on floor 2 eats paper")


def test_employee_files_ticket_by_drilling_down_with_attachment_and_pasted_screenshot(
    page: Page, live_server, employee, tree
):
    employee.set_password("secret-pass-1")
    employee.save()
    sign_in(page, live_server, employee.username, "secret-pass-1")

    ticket = file_ticket(page, live_server)

    assert ticket.requester == employee
    assert ticket.problem_source == tree["paper_jam"]
    assert ticket.priority == Ticket.Priority.HIGH
    names = sorted(Attachment.objects.filter(ticket=ticket).values_list("original_name", flat=True))
    assert names[0] == "error-page.png"
    assert names[1].startswith("screenshot-") and names[1].endswith(".png")
    expect(page.locator(".attachment-chip").filter(has_text="error-page.png").first).to_be_visible()
    expect(page.locator(".ticket-timeline")).to_contain_text("filed the ticket under")

    page.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_text("Printer on floor 2 eats paper").first).to_be_visible()


def test_agent_resolves_ticket_and_employee_sees_reply_but_not_internal_note(
    browser, live_server, employee, agent, tree
):
    for user in (employee, agent):
        user.set_password("secret-pass-1")
        user.save()

    employee_page = browser.new_page()
    sign_in(employee_page, live_server, employee.username, "secret-pass-1")
    ticket = file_ticket(employee_page, live_server)

    page = browser.new_page()
    sign_in(page, live_server, agent.username, "secret-pass-1")
    page.get_by_role("link", name="All tickets").click()
    # Hundreds of problem sources: type part of the name and pick the match (no <select> of every node).
    page.get_by_label("Problem source").fill("Printer")
    page.get_by_role("option", name="Hardware › Printer", exact=True).click()
    page.get_by_role("button", name="Apply filters").click()
    expect(page.locator(".ticket-table tbody tr")).to_have_count(1)
    page.get_by_role("link", name="Printer on floor 2 eats paper").click()

    page.get_by_role("button", name="Take it").click()
    expect(page.locator(".ticket-facts")).to_contain_text(agent.display_name)

    page.get_by_label("Comment").fill("Replacement roller ordered from the vendor, ticket 4711.")
    page.get_by_label("Internal note (IT staff only)").check()
    page.get_by_role("button", name="Save internal note").click()
    expect(page.locator(".timeline-internal")).to_contain_text("Replacement roller ordered")

    page.get_by_label("Comment").fill("We have fixed the tray; please try again.")
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator(".ticket-timeline")).to_contain_text("We have fixed the tray")

    page.get_by_label("Status").select_option("resolved")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".ticket-facts")).to_contain_text("Resolved")

    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.RESOLVED
    assert ticket.assignee == agent
    assert Comment.objects.filter(ticket=ticket, is_internal=True).count() == 1
    assert TicketEvent.objects.filter(ticket=ticket, kind=TicketEvent.Kind.INTERNAL_NOTE).count() == 1

    employee_page.reload()
    timeline = employee_page.locator(".ticket-timeline")
    expect(timeline).to_contain_text("We have fixed the tray")
    expect(timeline).to_contain_text("changed the status from In progress to Resolved")
    expect(employee_page.locator("body")).not_to_contain_text("Replacement roller")
    expect(employee_page.locator("body")).not_to_contain_text("internal note")
