"""Microsoft sign-ins that must fail with a message and sign nobody in: forged or foreign ID tokens
(C14), errors from Microsoft, and a missing, tampered or replayed state (C10)."""

import functools
import time
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests
from django.conf import settings
from django.test import Client

from accounts.models import User
from accounts.tests.entra_fixtures import (
    CLIENT,
    COMPLETE,
    OTHER_TENANT,
    TIMEOUT,
    authorize,
    microsoft_sign_in,
    start_microsoft_sign_in,
)
from accounts.tests.signin_helpers import (
    FOREIGN_TENANT_MESSAGE,
    LOGIN,
    LOGOUT,
    STATE_MESSAGE,
    UNVERIFIED_MESSAGE,
    add_user,
    assert_refused,
    signed_in_user,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("entra")]


# --- Rejected ID tokens (C14) ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param(lambda now: {"aud": "another-application"}, UNVERIFIED_MESSAGE, id="wrong audience"),
        pytest.param(lambda now: {"aud": None}, UNVERIFIED_MESSAGE, id="no audience"),
        pytest.param(lambda now: {"iss": "https://evil.example/v2.0"}, UNVERIFIED_MESSAGE, id="wrong issuer"),
        # Our issuer with another tenant id does not add up: refused, though not as "another organisation".
        pytest.param(lambda now: {"tid": OTHER_TENANT}, UNVERIFIED_MESSAGE, id="other tenant id under our issuer"),
        pytest.param(lambda now: {"tid": None}, UNVERIFIED_MESSAGE, id="no tenant id"),
        pytest.param(lambda now: {"exp": now - 60}, UNVERIFIED_MESSAGE, id="expired"),
        pytest.param(lambda now: {"nbf": now + 600}, UNVERIFIED_MESSAGE, id="not yet valid"),
        pytest.param(lambda now: {"iat": now + 600}, UNVERIFIED_MESSAGE, id="issued in the future"),
        pytest.param(lambda now: {"oid": None}, UNVERIFIED_MESSAGE, id="no object id"),
    ],
)
def test_an_id_token_with_a_bad_claim_is_refused_with_a_message(client, fake, mia, overrides, message):
    fake.next_id_token_overrides = overrides(int(time.time()))

    response = microsoft_sign_in(client, fake, mia)

    assert_refused(client, response, message)
    assert not User.objects.exists()


def test_an_id_token_of_another_tenant_with_its_own_issuer_is_refused(client, fake, mia):
    fake.next_id_token_overrides = {"tid": OTHER_TENANT, "iss": f"{fake.url}/{OTHER_TENANT}/v2.0"}

    response = microsoft_sign_in(client, fake, mia)

    assert_refused(client, response, FOREIGN_TENANT_MESSAGE)


def test_a_user_of_another_tenant_is_refused_with_a_clear_message(client, fake):
    stranger = add_user(fake, name="Eve Outsider", upn="eve@fabrikam.example", tid=OTHER_TENANT)

    response = microsoft_sign_in(client, fake, stranger)

    assert_refused(client, response, FOREIGN_TENANT_MESSAGE)
    assert not User.objects.exists()


def test_an_id_token_signed_with_an_unpublished_key_is_refused(client, fake, mia, monkeypatch):
    # The fake has no switch for this; sign the next ID token with its "foreign" key.
    monkeypatch.setattr(fake, "make_id_token", functools.partial(type(fake).make_id_token, fake, key="foreign"))

    response = microsoft_sign_in(client, fake, mia)

    assert_refused(client, response, UNVERIFIED_MESSAGE)
    assert not User.objects.exists()


@pytest.mark.parametrize("algorithm", ["none", "HS256"])
def test_an_unsigned_or_symmetrically_signed_id_token_is_refused(client, fake, mia, monkeypatch, algorithm):
    genuine = fake.make_id_token

    def forged(user, **overrides):
        claims = jwt.decode(genuine(user, **overrides), options={"verify_signature": False})
        kid = jwt.get_unverified_header(genuine(user))["kid"]
        key = None if algorithm == "none" else CLIENT + "-guessed-secret-of-32-bytes-or-more"
        return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid})

    monkeypatch.setattr(fake, "make_id_token", forged)

    response = microsoft_sign_in(client, fake, mia)

    assert_refused(client, response, UNVERIFIED_MESSAGE)


def test_a_refused_sign_in_is_a_message_not_a_traceback_even_with_debug_on(client, fake, mia, settings):
    settings.DEBUG = True  # social-auth re-raises with DEBUG on; our middleware must still answer
    fake.next_id_token_overrides = {"aud": "another-application"}

    response = microsoft_sign_in(client, fake, mia)

    assert_refused(client, response, UNVERIFIED_MESSAGE)


def test_an_error_from_the_token_endpoint_is_a_message_not_a_traceback(client, fake, mia):
    fake.sign_in_as(mia)
    callback = authorize(start_microsoft_sign_in(client))
    code = parse_qs(urlsplit(callback).query)["code"][0]
    # Someone else redeems the code first (without the PKCE verifier, which burns it).
    requests.post(
        f"{fake.authority}/oauth2/v2.0/token",
        data={
            "client_id": CLIENT,
            "client_secret": settings.ENTRA_CLIENT_SECRET,
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": f"http://testserver{COMPLETE}",
        },
        timeout=TIMEOUT,
    )

    response = client.get(callback)

    assert response.status_code == 302
    assert response["Location"] == LOGIN
    assert signed_in_user(client) is None
    assert "Microsoft sign-in failed" in client.get(LOGIN).content.decode()


def test_an_unreachable_microsoft_is_a_message_not_a_traceback(client, fake, mia, settings):
    fake.sign_in_as(mia)
    callback = authorize(start_microsoft_sign_in(client))
    settings.SOCIAL_AUTH_AZUREAD_V2_TENANT_OAUTH2_ACCESS_TOKEN_URL = "http://127.0.0.1:9/token"  # nothing listens

    response = client.get(callback)

    assert_refused(client, response, "Microsoft could not be reached")


# --- State (C10) ----------------------------------------------------------------------------------


def test_a_callback_without_state_is_refused(client, fake, mia):
    fake.sign_in_as(mia)
    callback = authorize(start_microsoft_sign_in(client))
    path, query = callback.split("?", 1)
    params = {name: values[0] for name, values in parse_qs(query).items() if name != "state"}

    response = client.get(path, params)

    assert_refused(client, response, STATE_MESSAGE)


def test_a_callback_with_a_tampered_state_is_refused(client, fake, mia):
    fake.sign_in_as(mia)
    callback = authorize(start_microsoft_sign_in(client))
    path, query = callback.split("?", 1)
    params = {name: values[0] for name, values in parse_qs(query).items()}
    params["state"] = params["state"][:-1] + ("A" if params["state"][-1] != "A" else "B")

    response = client.get(path, params)

    assert_refused(client, response, STATE_MESSAGE)


def test_a_replayed_callback_is_refused(client, fake, mia):
    fake.sign_in_as(mia)
    callback = authorize(start_microsoft_sign_in(client))
    assert client.get(callback)["Location"] == "/"
    client.post(LOGOUT)

    response = client.get(callback)

    assert_refused(client, response, STATE_MESSAGE)


def test_a_callback_started_in_another_browser_is_refused(client, fake, mia):
    """Login CSRF: an attacker's own callback URL, opened in the victim's browser, signs nobody in."""
    fake.sign_in_as(mia)
    attackers_callback = authorize(start_microsoft_sign_in(Client()))

    response = client.get(attackers_callback)

    assert_refused(client, response, STATE_MESSAGE)
    assert not User.objects.exists()


def test_a_cancelled_microsoft_sign_in_says_so(client, fake, mia):
    authorize_url = start_microsoft_sign_in(client)  # no sign_in_as: the fake shows its picker
    form = {name: values[0] for name, values in parse_qs(urlsplit(authorize_url).query).items()}
    cancelled = requests.post(
        authorize_url.split("?")[0], data={**form, "cancel": "1"}, allow_redirects=False, timeout=TIMEOUT
    )
    callback = urlsplit(cancelled.headers["Location"])

    response = client.get(f"{callback.path}?{callback.query}")

    assert_refused(client, response, "The Microsoft sign-in was cancelled.")
