"""The tab as Teams shows it: inside a frame of a Teams page, with the Teams SDK answering.

Playwright plays Teams: it serves a page at https://teams.microsoft.com that frames the tab, and
replaces the vendored Teams SDK with a stub whose getAuthToken returns a token signed by the fake
Entra ID. The user must land signed in on the dashboard, in Teams' dark theme.
"""

import json

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from accounts.tests.entra_fixtures import CLIENT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

APP_ID_URI = f"api://tickets.example.com/{CLIENT}"
TEAMS_PAGE = "https://teams.microsoft.com/v2/apps/tinyteamsticket/tab"
# The tab is reached over https at a host of the same site as Teams: Playwright forwards it to the
# live server. Browser contexts block third-party cookies like private windows do; the real
# deployment relies on SameSite=None; Secure cookies, which this setup exercises.
APP_ORIGIN = "https://tickets.teams.microsoft.com"

STUB_SDK = """
window.microsoftTeams = {
  app: {
    initialize: function () { return Promise.resolve(); },
    getContext: function () {
      return Promise.resolve({ app: { theme: %(theme)s, locale: "en-us" }, page: { subPageId: %(sub_page)s } });
    },
    registerOnThemeChangeHandler: function (handler) { window.teamsThemeHandler = handler; }
  },
  dialog: {
    url: { submit: function (result, appIds) { window.teamsDialogSubmitted = { result: result, appIds: appIds }; } }
  },
  authentication: {
    getAuthToken: function () { return Promise.resolve(%(token)s); },
    authenticate: function () { return Promise.reject(new Error("no popup in this test")); },
    notifySuccess: function () {},
    notifyFailure: function () {}
  }
};
"""


@pytest.fixture
def framed_tab(browser, live_server, entra, settings):
    """Open the tab inside a fake Teams page; returns a function(token, theme, sub_page) -> frame."""
    settings.ENTRA_APP_ID_URI = APP_ID_URI
    # As in production over https: cookies for a frame, and the public origin trusted for CSRF.
    settings.SESSION_COOKIE_SAMESITE = settings.CSRF_COOKIE_SAMESITE = "None"
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    settings.CSRF_TRUSTED_ORIGINS = [APP_ORIGIN]
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    pages = []

    def forward(route):
        url = route.request.url.replace(APP_ORIGIN, live_server.url)
        try:
            route.fulfill(response=route.fetch(url=url, max_redirects=0))
        except PlaywrightError:
            # The test ended while the tab still had a request in flight (the theme POST, a font);
            # the assertions have already looked at what the page showed.
            if not route.request.frame.page.is_closed():
                raise

    def open_tab(token: str, *, theme: str = "dark", sub_page: str = "", path: str = "/teams/"):
        page = context.new_page()
        pages.append(page)
        stub = STUB_SDK % {"token": json.dumps(token), "theme": json.dumps(theme), "sub_page": json.dumps(sub_page)}
        page.route(f"{APP_ORIGIN}/**", forward)
        # Registered last, so it wins over the forwarding route above (Playwright tries newest first).
        page.route(
            "**/static/vendor/teams-js-*/MicrosoftTeams.min.js",
            lambda route: route.fulfill(status=200, content_type="application/javascript", body=stub),
        )
        page.route(
            TEAMS_PAGE,
            lambda route: route.fulfill(
                status=200,
                content_type="text/html",
                body=f'<!doctype html><title>Teams</title><iframe name="tab" src="{APP_ORIGIN}{path}" '
                'style="width:1150px;height:850px;border:0"></iframe>',
            ),
        )
        page.goto(TEAMS_PAGE)
        return page, page.frame_locator("iframe[name=tab]")

    yield open_tab
    for page in pages:
        page.unroute_all(behavior="ignoreErrors")
    context.close()


def test_tab_in_teams_signs_the_user_in_silently_in_the_teams_theme(framed_tab, entra):
    person = entra.add_user(name="Nora Tabler", upn="nora@contoso.example", given_name="Nora", family_name="Tabler")
    token = entra.make_access_token(person, audience=APP_ID_URI, version=1)

    _page, tab = framed_tab(token, theme="dark")

    expect(tab.get_by_role("heading", level=1)).to_contain_text("Hello, Nora", timeout=15_000)
    expect(tab.locator("html")).to_have_attribute("data-bs-theme", "dark")
    # Links inside the tab stay inside it.
    expect(tab.get_by_role("link", name="New ticket").first).to_have_attribute("href", "/teams/app/tickets/new/")


def test_tab_opens_the_ticket_of_a_deep_link(framed_tab, entra, employee, ticket):
    from social_django.models import UserSocialAuth

    person = entra.add_user(name="Erika Deep", upn="erika.deep@contoso.example")
    UserSocialAuth.objects.create(user=employee, provider="azuread-v2-tenant-oauth2", uid=person.oid)
    token = entra.make_access_token(person, audience=APP_ID_URI, version=1)

    _page, tab = framed_tab(token, theme="default", sub_page=f"ticket-{ticket.pk}")

    expect(tab.get_by_role("heading", level=1)).to_contain_text(ticket.title, timeout=15_000)
    expect(tab.locator("html")).to_have_attribute("data-bs-theme", "light")


def test_tab_shows_the_sign_in_button_when_teams_cannot_vouch_for_the_user(framed_tab, entra):
    _page, tab = framed_tab("not-a-valid-token")

    expect(tab.get_by_role("button", name="Log in with Microsoft")).to_be_visible(timeout=15_000)
    expect(tab.get_by_text("Microsoft Teams could not confirm who you are.")).to_be_visible()
