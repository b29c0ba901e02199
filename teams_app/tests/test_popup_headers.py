"""The Teams sign-in popup can report back to Teams: its pages (/teams/auth/*) send
Cross-Origin-Opener-Policy: unsafe-none, and only they; every other page keeps same-origin (C17).

The browser test plays Teams in Chromium: a page of another origin opens the popup, which goes
through the Microsoft sign-in (the fake Entra ID) and, on its last page, posts its result to
``window.opener`` as the Teams SDK does in a browser.
"""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.tests.entra_fixtures import BEGIN, authorize

COOP = "Cross-Origin-Opener-Policy"


@pytest.mark.parametrize("name", ["teams_app:auth_start", "teams_app:auth_end"])
def test_the_popup_pages_keep_their_opener(client, entra, name):
    response = client.get(reverse(name))

    assert response.status_code == 200
    assert response[COOP] == "unsafe-none"


@pytest.mark.django_db
def test_the_microsoft_sign_ins_redirects_on_the_popups_way_keep_the_opener(client, entra, mia):
    """Browsers apply COOP to each redirect of a navigation; same-origin on one cuts the popup off."""
    entra.sign_in_as(mia)
    client.get(reverse("teams_app:auth_start"))
    begin = client.post(BEGIN, {"next": reverse("teams_app:auth_end")})
    complete = client.get(authorize(begin["Location"]))

    assert begin.status_code == complete.status_code == 302
    assert complete["Location"] == reverse("teams_app:auth_end")
    assert begin[COOP] == complete[COOP] == "unsafe-none"


def test_other_redirects_keep_same_origin(client, employee):
    client.force_login(employee)

    response = client.post(reverse("accounts:logout"))

    assert response.status_code == 302
    assert response[COOP] == "same-origin"


@pytest.mark.parametrize(
    "path",
    ["/accounts/login/", "/teams/", "/teams/app/", "/teams/app/accounts/login/", "/teams/app/teams/auth/end/"],
)
def test_every_other_page_isolates_itself_from_its_opener(client, entra, path):
    response = client.get(path)

    assert response[COOP] == "same-origin"


OPENER = "http://teams.example.test/"
# The part of the Teams SDK the popup's last page uses, as it behaves outside the Teams client.
STUB_SDK = """
window.microsoftTeams = {
  app: { initialize: function () { return Promise.resolve(); } },
  authentication: {
    notifySuccess: function (result) { window.opener.postMessage({ teams: "success", result: result }, "*"); },
    notifyFailure: function (reason) { window.opener.postMessage({ teams: "failure", reason: reason }, "*"); }
  }
};
"""


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_popup_signs_in_and_reports_back_to_the_page_that_opened_it(browser, live_server, entra, mia):
    entra.sign_in_as(mia)
    context = browser.new_context()
    context.route(
        f"{OPENER}**",
        lambda route: route.fulfill(
            status=200,
            content_type="text/html",
            body="<!doctype html><title>Teams</title><button id=open>Sign in</button><script>"
            "window.addEventListener('message', function (event) { document.title = JSON.stringify(event.data); });"
            f"document.getElementById('open').onclick = function () {{ window.open('{live_server.url}"
            f"{reverse('teams_app:auth_start')}', 'auth', 'width=600,height=600'); }};</script>",
        ),
    )
    context.route(
        "**/static/vendor/teams-js-*/MicrosoftTeams.min.js",
        lambda route: route.fulfill(status=200, content_type="application/javascript", body=STUB_SDK),
    )
    teams = context.new_page()
    teams.goto(OPENER)

    with context.expect_page() as opened:
        teams.click("#open")
    popup = opened.value
    popup.wait_for_url(f"{live_server.url}{reverse('teams_app:auth_end')}", timeout=15_000)

    assert popup.evaluate("() => window.opener !== null")
    expect(teams).to_have_title('{"teams":"success","result":"signed-in"}', timeout=10_000)
    context.close()
