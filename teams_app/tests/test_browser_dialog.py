"""The "Create ticket" dialog as Teams shows it: the tab's ticket form in a frame of a Teams page,
signed in silently, started with the text of the Teams message the person chose."""

import re

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect
from social_django.models import UserSocialAuth

from teams_app.tests.test_browser_tab import APP_ID_URI, APP_ORIGIN, framed_tab  # noqa: F401 (fixture)
from tickets import drafts

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def go_to_after_redirect(page, url: str) -> None:
    """Send the tab's frame to ``url``. The browser also follows the redirect itself, outside the
    test's routing: that navigation may overtake this one, landing on ``url`` too (then wait for it)
    or on an error page (then go again)."""
    for attempt in range(5):
        try:
            page.frame(name="tab").goto(url)
            return
        except PlaywrightError as error:
            overtaken = re.search(r'interrupted by another navigation to "([^"]+)"', str(error))
            if overtaken is None or attempt == 4:
                raise
            if overtaken[1] == url:  # already on its way there
                page.frame(name="tab").wait_for_load_state()
                return


def test_the_dialog_shows_the_ticket_form_with_the_message_text(framed_tab, entra, employee, tree):  # noqa: F811
    person = entra.add_user(name="Erika Dialog", upn="erika.dialog@contoso.example")
    UserSocialAuth.objects.create(user=employee, provider="azuread-v2-tenant-oauth2", uid=person.oid)
    token = entra.make_access_token(person, audience=APP_ID_URI, version=1)
    draft = drafts.make_token(
        user_id=employee.pk, title="Printer error 42", description="The printer beeps <b>loudly</b>"
    )

    page, tab = framed_tab(token, theme="default", path=f"/teams/new/?draft={draft}")

    # Signed in, the dialog moves on to the drill-down of the tab's form.
    expect(tab.get_by_role("heading", level=1)).to_be_visible(timeout=15_000)
    frame = page.frame(name="tab")
    frame.goto(f"{APP_ORIGIN}/teams/app/tickets/new/?source={tree['paper_jam'].pk}&here=1")
    expect(tab.get_by_label("Title")).to_have_value("Printer error 42", timeout=15_000)
    expect(tab.get_by_label("Description")).to_have_value("The printer beeps <b>loudly</b>")


def test_filing_in_the_dialog_hands_the_ticket_to_the_bot_and_closes_it(framed_tab, entra, settings, employee, tree):  # noqa: F811
    from tickets.models import Ticket

    person = entra.add_user(name="Erika Dialog", upn="erika.done@contoso.example")
    UserSocialAuth.objects.create(user=employee, provider="azuread-v2-tenant-oauth2", uid=person.oid)
    token = entra.make_access_token(person, audience=APP_ID_URI, version=1)
    draft = drafts.make_token(user_id=employee.pk, title="Beamer flickers", description="Room 4")

    page, tab = framed_tab(token, theme="default", path=f"/teams/new/?draft={draft}&dialog=1")
    expect(tab.get_by_role("heading", level=1)).to_be_visible(timeout=15_000)
    frame = page.frame(name="tab")
    frame.goto(f"{APP_ORIGIN}/teams/app/tickets/new/?source={tree['paper_jam'].pk}&here=1")
    expect(tab.get_by_label("Title")).to_have_value("Beamer flickers", timeout=15_000)
    with page.expect_response(lambda response: response.request.method == "POST") as posted:
        tab.get_by_role("button", name="Submit ticket").click()
    ticket = Ticket.objects.get(title="Beamer flickers")
    done = f"/teams/app/teams/dialog/done/{ticket.pk}/"
    assert posted.value.headers["location"] == done
    # Playwright's routing does not see the redirect the browser follows (the frame stands in for
    # Teams' host here), so the frame is sent there as the browser would.
    go_to_after_redirect(page, f"{APP_ORIGIN}{done}")

    expect(tab.get_by_role("heading", level=1)).to_contain_text("was created", timeout=15_000)
    frame.wait_for_function("() => window.teamsDialogSubmitted !== undefined", timeout=15_000)
    submitted = frame.evaluate("() => window.teamsDialogSubmitted")
    assert submitted == {"result": {"ticket": ticket.pk}, "appIds": [settings.ENTRA_CLIENT_ID]}
