"""Self-help and the rating, driven in headless Chromium with JavaScript switched off: the article
before the form, "I still need help", and a thumbs down that reopens the ticket."""

import re

import pytest
from playwright.sync_api import expect

from tickets import self_help, services
from tickets.models import SelfHelpDeflection, Ticket, TicketEvent, TicketRating

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, live_server, username: str, password: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hello")


def test_without_javascript_an_employee_reads_the_help_files_anyway_and_rates_thumbs_down(
    browser, live_server, employee, agent, tree
):
    self_help.article_save(
        node=tree["paper_jam"],
        author=agent,
        title_en="Clearing a paper jam",
        title_de="",
        body_en="Open **flap B** and pull the sheet out.",
        body_de="",
    )
    employee.set_password("secret-pass-1")
    employee.save()
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    sign_in(page, live_server, employee.username, "secret-pass-1")

    # First time: the help solves it, nothing is filed.
    page.get_by_role("link", name="New ticket").first.click()
    for name in ("Hardware", "Printer", "Paper jam"):
        page.get_by_role("link", name=re.compile(f"^{name}")).click()
    expect(page.get_by_role("heading", name="Clearing a paper jam")).to_be_visible()
    page.get_by_role("button", name="That solved it").click()
    expect(page.get_by_text("Glad it helped! Nothing was filed.")).to_be_visible()
    assert SelfHelpDeflection.objects.get().count == 1 and not Ticket.objects.exists()

    # Second time: still broken, so the form opens and the ticket notes the article.
    page.goto(f"{live_server.url}/tickets/new/?source={tree['paper_jam'].pk}")
    page.get_by_role("link", name="I still need help").click()
    page.get_by_label("Title").fill("Still jammed")
    page.get_by_label("Description").fill("Flap B is empty, it still jams.")
    page.get_by_role("button", name="Submit ticket").click()
    expect(page.locator(".ticket-timeline")).to_contain_text("read the self-help article Clearing a paper jam")
    ticket = Ticket.objects.get(title="Still jammed")

    services.ticket_take(ticket=ticket, agent=agent)
    services.ticket_update(ticket=ticket, actor=agent, status=Ticket.Status.RESOLVED)

    page.reload()
    page.get_by_text("No, not solved").click()
    page.get_by_label("Comment (optional)").fill("It jams again after ten pages.")
    page.get_by_label("Not solved: reopen the ticket so IT looks at it again").check()
    page.get_by_role("button", name="Send rating").click()

    expect(page.get_by_text("The ticket was reopened")).to_be_visible()
    expect(page.locator(".ticket-timeline")).to_contain_text("It jams again after ten pages.")
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.IN_PROGRESS
    assert TicketRating.objects.get().is_positive is False
    assert TicketEvent.objects.filter(ticket=ticket, kind=TicketEvent.Kind.RATING).count() == 1
    context.close()
