"""An employee meets a known issue while filing, in headless Chromium: the dashboard banner, similar
tickets while typing the title (asked once after typing stops), and "Affects me too"."""

import re

import pytest
from playwright.sync_api import Page, expect

from tickets import known_issues
from tickets.models import AffectedPerson
from tickets.tests.test_browser_journeys import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_employee_sees_the_known_issue_while_typing_and_says_it_affects_them(
    page: Page, live_server, ticket, tree, agent, other_employee
):
    known_issues.known_issue_mark(
        ticket=ticket, actor=agent, problem_source=tree["printer"], status_text="Printer 2nd floor: technician at 14:00"
    )
    other_employee.set_password("secret-pass-1")
    other_employee.save()
    sign_in(page, live_server, other_employee.username, "secret-pass-1")
    expect(page.locator(".known-issue-banner")).to_contain_text("technician at 14:00")  # loaded after the page

    page.goto(f"{live_server.url}/tickets/new/?source={tree['paper_jam'].pk}")
    lookups = []
    page.on("request", lambda request: lookups.append(request.url) if "/tickets/similar/" in request.url else None)
    page.get_by_label("Title").press_sequentially("Printer jams", delay=40)

    suggestions = page.locator(".similar-tickets")
    expect(suggestions).to_contain_text("technician at 14:00")
    assert len(lookups) == 1, lookups  # typed faster than the 300 ms pause: one question, for the whole title
    assert "title=Printer+jams" in lookups[0]
    assert "Printer on floor 2 jams" not in suggestions.inner_text()  # not another person's ticket

    suggestions.get_by_role("button", name="Affects me too").click()
    expect(page).to_have_url(re.compile(rf"/tickets/{ticket.pk}/$"))
    expect(page.get_by_text("You are affected by this ticket")).to_be_visible()
    assert AffectedPerson.objects.get(ticket=ticket).user == other_employee
