"""The "Log in with Microsoft" button (C10), where a sign-in leads afterwards (C11), and signing out."""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.test import Client

from accounts.tests.entra_fixtures import (
    BEGIN,
    CLIENT,
    COMPLETE,
    TIMEOUT,
    authorize,
    microsoft_sign_in,
    start_microsoft_sign_in,
)
from accounts.tests.signin_helpers import DASHBOARD, LOGIN, LOGOUT, signed_in_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("entra")]


# --- The login button (C10) -----------------------------------------------------------------------


def test_the_login_page_offers_microsoft_as_a_post_form_with_csrf_token(client):
    html = client.get(LOGIN).content.decode()

    assert "Log in with Microsoft" in html
    form = html[html.rindex("<form", 0, html.index("Log in with Microsoft")) : html.index("Log in with Microsoft")]
    assert 'method="post"' in form
    assert f'action="{BEGIN}"' in form
    assert 'name="csrfmiddlewaretoken"' in form
    assert 'name="username"' in html  # local accounts still sign in beside it


def test_the_login_page_hides_microsoft_when_it_is_not_configured(client, settings):
    settings.ENTRA_ENABLED = False

    html = client.get(LOGIN).content.decode()

    assert "Log in with Microsoft" not in html
    assert BEGIN not in html
    assert 'name="username"' in html


def test_starting_the_microsoft_sign_in_by_get_is_refused(client, fake):
    response = client.get(BEGIN)

    assert response.status_code == 405
    assert not [request for request in fake.requests if request.path.endswith("/authorize")]


def test_starting_the_microsoft_sign_in_needs_the_csrf_token(fake):
    client = Client(enforce_csrf_checks=True)
    client.get(LOGIN)

    response = client.post(BEGIN)

    assert response.status_code == 403


def test_the_authorize_request_uses_pkce_state_and_the_graph_scopes(client):
    query = parse_qs(urlsplit(start_microsoft_sign_in(client)).query)

    assert query["client_id"] == [CLIENT]
    assert query["redirect_uri"] == [f"http://testserver{COMPLETE}"]
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["state"][0]) >= 32
    assert {"openid", "offline_access", "User.Read", "email"} <= set(query["scope"][0].split())


# --- next after SSO (C11) -------------------------------------------------------------------------


def test_a_same_site_next_is_honoured_after_microsoft_sign_in(client, fake, mia):
    response = microsoft_sign_in(client, fake, mia, next="/tickets/?status=open")

    assert response.status_code == 302
    assert response["Location"] == "/tickets/?status=open"
    assert signed_in_user(client) is not None


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "https://evil.example/tickets/",
        "http://evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "///evil.example",
        "https:evil.example",
        "javascript:alert(1)",
        "https://testserver@evil.example",
    ],
)
def test_an_off_site_next_is_ignored_after_microsoft_sign_in(client, fake, mia, target):
    response = microsoft_sign_in(client, fake, mia, next=target)

    location = urlsplit(response["Location"])
    assert response.status_code == 302
    assert location.netloc in ("", "testserver"), response["Location"]
    assert not response["Location"].startswith(("//", "/\\", "\\")), response["Location"]
    assert signed_in_user(client) is not None


def test_a_next_smuggled_into_the_callback_url_stays_on_site(client, fake, mia):
    fake.sign_in_as(mia)
    callback = authorize(start_microsoft_sign_in(client))

    response = client.get(f"{callback}&next=https://evil.example/")

    assert signed_in_user(client) is not None
    assert urlsplit(response["Location"]).netloc in ("", "testserver"), response["Location"]


# --- Sign-out -------------------------------------------------------------------------------------


def test_logout_ends_the_local_session_of_a_microsoft_user(client, fake, mia):
    microsoft_sign_in(client, fake, mia)

    response = client.post(LOGOUT)

    assert response.status_code == 302
    assert response["Location"] == LOGIN
    assert signed_in_user(client) is None
    assert client.get(DASHBOARD).status_code == 302


def test_logout_can_also_sign_out_of_microsoft(client, fake, mia, settings):
    settings.ENTRA_SIGN_OUT_OF_MICROSOFT = True
    microsoft_sign_in(client, fake, mia)

    response = client.post(LOGOUT)

    assert signed_in_user(client) is None
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{fake.authority}/oauth2/v2.0/logout"
    assert parse_qs(location.query)["post_logout_redirect_uri"] == [f"http://testserver{LOGIN}"]
    back = requests.get(response["Location"], allow_redirects=False, timeout=TIMEOUT)
    assert (back.status_code, back.headers["Location"]) == (302, f"http://testserver{LOGIN}")


def test_a_local_user_is_not_sent_to_microsoft_on_logout(client, employee, settings):
    settings.ENTRA_SIGN_OUT_OF_MICROSOFT = True
    client.post(LOGIN, {"username": "erika", "password": "erika-pass-123"})

    response = client.post(LOGOUT)

    assert response["Location"] == LOGIN
    assert signed_in_user(client) is None
