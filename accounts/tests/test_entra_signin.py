"""Sign in with Microsoft beside local accounts (C10, C11, C14), driven through the Django test client
against the fake Entra ID: POST the login button, follow the authorize URL with `requests`, and bring
the callback back to the app.
"""

import functools
import json
import logging
import re
import time
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse
from social_django.models import UserSocialAuth

from accounts.models import User
from accounts.tests.entra_fixtures import (
    BEGIN,
    CLIENT,
    COMPLETE,
    OTHER_TENANT,
    PROVIDER,
    TENANT,
    TIMEOUT,
    authorize,
    microsoft_sign_in,
    start_microsoft_sign_in,
)
from accounts.tokens import decrypt
from conftest import make_user
from devtools.fake_entra import FakeUser

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("entra")]

LOGIN = reverse("accounts:login")
LOGOUT = reverse("accounts:logout")
DASHBOARD = reverse("dashboard")

FOREIGN_TENANT_MESSAGE = "Your Microsoft account belongs to another organisation"
UNVERIFIED_MESSAGE = "the answer from Microsoft could not be verified"
STATE_MESSAGE = "The sign-in took too long or was started in another window"
DEACTIVATED_MESSAGE = "This account is deactivated"
# A JWT's header and payload are base64 JSON objects, so both start with "eyJ"; Fernet tokens with "gAAAAA".
JWT = re.compile(r"eyJ[\w-]{10,}\.eyJ[\w-]{10,}\.")
FERNET = re.compile(r"gAAAAA[\w-]{60,}")


def signed_in_user(client) -> User | None:
    user_id = client.session.get(SESSION_KEY)
    return User.objects.get(pk=user_id) if user_id else None


def account_of(fake_user: FakeUser) -> User:
    return UserSocialAuth.objects.get(provider=PROVIDER, uid=fake_user.oid).user


def assert_refused(client, response, message: str) -> None:
    """A refused sign-in: back on the login page with a readable message, nobody signed in."""
    assert response.status_code == 302, response.content[:300]
    assert response["Location"] == LOGIN
    assert signed_in_user(client) is None
    page = client.get(LOGIN)
    assert page.status_code == 200
    assert message in page.content.decode()


def add_user(fake, **fields) -> FakeUser:
    fields.setdefault("name", "Leon Fischer")
    fields.setdefault("upn", f"leon.{time.monotonic_ns()}@contoso.example")
    return fake.add_user(**fields)


# --- First and later sign-ins ---------------------------------------------------------------------


def test_first_sign_in_creates_the_user_from_the_id_token_and_graph(client, fake, mia):
    response = microsoft_sign_in(client, fake, mia)

    assert response.status_code == 302
    assert response["Location"] == "/"
    user = signed_in_user(client)
    assert user is not None
    assert (user.first_name, user.last_name) == ("Mia", "Schmidt")
    assert user.email == "mia@contoso.example"  # the email claim, not the UPN
    assert (user.job_title, user.department, user.office_location) == ("IT Support", "IT", "Berlin")
    assert user.language == "de"  # Graph's preferredLanguage "de-DE"
    assert not user.has_usable_password()
    assert not user.is_staff and not user.is_superuser and not user.is_agent
    social = UserSocialAuth.objects.get(user=user)
    assert (social.provider, social.uid) == (PROVIDER, mia.oid)
    assert social.extra_data["tid"] == TENANT
    # Graph /me was asked for the fields that are only returned with $select.
    me_call = next(request for request in fake.requests if request.path == "/v1.0/me")
    assert "department" in me_call.query["$select"]


def test_after_sign_in_the_dashboard_greets_the_user_by_first_name(client, fake):
    leon = add_user(fake, name="Leon Fischer", preferred_language="en-US")

    microsoft_sign_in(client, fake, leon)

    page = client.get(DASHBOARD)
    assert page.status_code == 200
    assert "Hello, Leon" in page.content.decode()


def test_email_is_the_upn_when_there_is_no_email_claim_or_graph_mail(client, fake):
    leon = add_user(fake, upn="leon.fischer@contoso.example", email=None)

    microsoft_sign_in(client, fake, leon)

    assert signed_in_user(client).email == "leon.fischer@contoso.example"


def test_names_come_from_the_display_name_when_given_and_family_name_are_absent(client, fake):
    leon = add_user(fake, name="Leon Fischer")
    fake.graph_failures = 1  # nothing from Graph either

    microsoft_sign_in(client, fake, leon)

    user = signed_in_user(client)
    assert (user.first_name, user.last_name) == ("Leon", "Fischer")


def test_later_sign_ins_refresh_the_profile(client, fake, mia):
    microsoft_sign_in(client, fake, mia)
    client.post(LOGOUT)
    mia.name, mia.given_name, mia.family_name = "Mia Weber", "Mia", "Weber"
    mia.email = "mia.weber@contoso.example"
    mia.job_title, mia.department, mia.office_location = "Team lead", "Service desk", "Hamburg"

    microsoft_sign_in(client, fake, mia)

    user = signed_in_user(client)
    assert User.objects.count() == 1
    assert (user.first_name, user.last_name, user.email) == ("Mia", "Weber", "mia.weber@contoso.example")
    assert (user.job_title, user.department, user.office_location) == ("Team lead", "Service desk", "Hamburg")


def test_a_later_sign_in_keeps_the_language_the_user_chose_here(client, fake, mia):
    microsoft_sign_in(client, fake, mia)
    user = signed_in_user(client)
    user.language = "en"
    user.save()
    client.post(LOGOUT)

    microsoft_sign_in(client, fake, mia)

    assert signed_in_user(client).language == "en"


def test_a_graph_failure_never_blocks_the_sign_in(client, fake, mia, caplog):
    fake.graph_failures = 1

    response = microsoft_sign_in(client, fake, mia)

    assert response.status_code == 302
    assert response["Location"] == "/"
    user = signed_in_user(client)
    assert (user.first_name, user.last_name, user.email) == ("Mia", "Schmidt", "mia@contoso.example")
    assert user.job_title == ""  # only Graph knows it; fetched again at the next sign-in
    assert "Graph /me failed" in caplog.text
    client.post(LOGOUT)

    microsoft_sign_in(client, fake, mia)

    assert signed_in_user(client).job_title == "IT Support"


# --- Keyed on oid, no linking by e-mail (C14) -----------------------------------------------------


def test_the_account_follows_the_oid_when_upn_and_email_change(client, fake, mia):
    microsoft_sign_in(client, fake, mia)
    first = signed_in_user(client)
    client.post(LOGOUT)
    mia.upn, mia.email = "mia.weber@contoso.example", "mia.weber@contoso.example"

    microsoft_sign_in(client, fake, mia)

    assert signed_in_user(client) == first
    assert User.objects.count() == 1


def test_a_new_oid_with_a_reused_upn_and_email_gets_a_new_account(client, fake, mia):
    microsoft_sign_in(client, fake, mia)
    original = signed_in_user(client)
    client.post(LOGOUT)
    successor = add_user(fake, name="Mia Schmidt", upn=mia.upn, email=mia.email)

    microsoft_sign_in(client, fake, successor)

    assert signed_in_user(client) not in (None, original)
    assert account_of(successor) != account_of(mia)


def test_a_local_account_with_the_same_email_and_username_is_not_taken_over(client, fake, mia):
    local = make_user("mia.schmidt@contoso.example", email="mia@contoso.example")
    local.is_staff = local.is_superuser = True  # worth taking over
    local.save()

    microsoft_sign_in(client, fake, mia)

    user = signed_in_user(client)
    assert user is not None
    assert user != local
    assert user.username != local.username
    assert not user.is_superuser
    assert not UserSocialAuth.objects.filter(user=local).exists()
    local.refresh_from_db()
    assert local.check_password("mia.schmidt@contoso.example-pass-123")


def test_two_directory_users_with_the_same_email_get_two_accounts(client, fake):
    first = add_user(fake, name="Alex Meyer", upn="alex.meyer@contoso.example", email="it@contoso.example")
    second = add_user(fake, name="Alex Meyer", upn="alex.meyer2@contoso.example", email="it@contoso.example")

    microsoft_sign_in(client, fake, first)
    client.post(LOGOUT)
    microsoft_sign_in(client, fake, second)

    assert account_of(first) != account_of(second)
    assert User.objects.filter(email="it@contoso.example").count() == 2


def test_an_old_association_keyed_on_the_upn_is_not_taken_over(client, fake, mia):
    """social-core keyed this backend on the UPN once; such a row must not hand its user to whoever
    holds that UPN now."""
    local = make_user("old-mia")
    UserSocialAuth.objects.create(user=local, provider=PROVIDER, uid=mia.upn)

    response = microsoft_sign_in(client, fake, mia)

    user = signed_in_user(client)
    assert user != local
    if user is None:  # refused (social-core finds no proof the row is Mia's): acceptable, with a message
        assert_refused(client, response, UNVERIFIED_MESSAGE)
    assert UserSocialAuth.objects.get(uid=mia.upn).user == local


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


# --- Deactivated users ----------------------------------------------------------------------------


def test_a_deactivated_user_cannot_sign_in_with_microsoft(client, fake, mia):
    microsoft_sign_in(client, fake, mia)
    client.post(LOGOUT)
    User.objects.filter(pk=account_of(mia).pk).update(is_active=False)

    response = microsoft_sign_in(client, fake, mia)

    assert_refused(client, response, DEACTIVATED_MESSAGE)
    assert not account_of(mia).is_active


def test_a_deactivated_user_cannot_sign_in_with_a_password_while_microsoft_is_configured(client, employee):
    employee.is_active = False
    employee.save()

    response = client.post(LOGIN, {"username": "erika", "password": "erika-pass-123"})

    assert response.status_code == 200
    assert signed_in_user(client) is None


def test_deactivation_ends_a_microsoft_session(client, fake, mia):
    microsoft_sign_in(client, fake, mia)
    assert client.get(DASHBOARD).status_code == 200

    User.objects.filter(pk=account_of(mia).pk).update(is_active=False)

    response = client.get(DASHBOARD)
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


def test_deactivation_ends_a_local_session(client, employee):
    assert client.post(LOGIN, {"username": "erika", "password": "erika-pass-123"}).status_code == 302
    assert client.get(DASHBOARD).status_code == 200

    User.objects.filter(pk=employee.pk).update(is_active=False)

    response = client.get(DASHBOARD)
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


# --- Roles ----------------------------------------------------------------------------------------


def test_the_agent_role_puts_the_user_in_the_it_staff_group(client, fake):
    anna = add_user(fake, name="Anna Agent", roles=("Tickets.Agent",))

    microsoft_sign_in(client, fake, anna)

    user = signed_in_user(client)
    assert user.groups.filter(name=settings.IT_STAFF_GROUP).exists()
    assert user.is_agent
    assert not user.is_staff and not user.is_superuser


def test_the_admin_role_makes_the_user_staff_and_superuser(client, fake):
    root = add_user(fake, name="Ada Admin", roles=("Tickets.Admin",))

    microsoft_sign_in(client, fake, root)

    user = signed_in_user(client)
    assert user.is_staff and user.is_superuser
    assert client.get(reverse("admin:index")).status_code == 200


def test_roles_are_synchronised_at_every_sign_in(client, fake):
    anna = add_user(fake, name="Anna Agent", roles=("Tickets.Agent", "Tickets.Admin"))
    microsoft_sign_in(client, fake, anna)
    client.post(LOGOUT)
    anna.roles = ()

    microsoft_sign_in(client, fake, anna)

    user = signed_in_user(client)
    assert not user.groups.filter(name=settings.IT_STAFF_GROUP).exists()
    assert not user.is_staff and not user.is_superuser
    assert not user.is_agent


def test_unknown_roles_grant_nothing(client, fake):
    someone = add_user(fake, name="Sam Other", roles=("Tickets.Reader", "agent", "admin"))

    microsoft_sign_in(client, fake, someone)

    user = signed_in_user(client)
    assert not user.groups.exists()
    assert not user.is_staff and not user.is_superuser


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


# --- Tokens at rest, in the admin and in logs (C12, C14) ------------------------------------------


def stored_tokens(fake_user: FakeUser) -> tuple[dict, str, str]:
    extra_data = UserSocialAuth.objects.get(provider=PROVIDER, uid=fake_user.oid).extra_data
    return extra_data, decrypt(extra_data["access_token"]), decrypt(extra_data["refresh_token"])


def test_tokens_are_stored_encrypted_and_the_id_token_not_at_all(client, fake, mia):
    microsoft_sign_in(client, fake, mia)

    extra_data, access_token, refresh_token = stored_tokens(mia)

    assert access_token and refresh_token
    assert jwt.decode(access_token, options={"verify_signature": False})["oid"] == mia.oid
    stored = json.dumps(extra_data)
    assert access_token not in stored
    assert refresh_token not in stored
    assert not JWT.search(stored)  # no JWT at all, so no ID token either
    assert "id_token" not in extra_data
    assert extra_data["expires_at"] > time.time()
    # The decrypted refresh token is the real one: Entra accepts it.
    refreshed = requests.post(
        f"{fake.authority}/oauth2/v2.0/token",
        data={
            "client_id": CLIENT,
            "client_secret": settings.ENTRA_CLIENT_SECRET,
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "scope": "User.Read",
        },
        timeout=TIMEOUT,
    )
    assert refreshed.status_code == 200, refreshed.text


def test_the_admin_never_shows_tokens(client, fake, mia, admin):
    microsoft_sign_in(client, fake, mia)
    extra_data, access_token, refresh_token = stored_tokens(mia)
    social = UserSocialAuth.objects.get(uid=mia.oid)
    client.force_login(admin)

    pages = [
        reverse("admin:social_django_usersocialauth_changelist"),
        reverse("admin:social_django_usersocialauth_change", args=[social.pk]),
        reverse("admin:accounts_user_changelist"),
        reverse("admin:accounts_user_change", args=[social.user.pk]),
    ]
    for url in pages:
        response = client.get(url)
        html = response.content.decode()

        assert response.status_code == 200, url
        assert mia.oid in html or "Mia" in html, url  # the page does show the account
        for secret in (access_token, refresh_token, extra_data["access_token"], extra_data["refresh_token"]):
            assert secret not in html, url
        assert not JWT.search(html), url
        assert not FERNET.search(html), url


def test_tokens_never_reach_the_logs(client, fake, mia, caplog):
    caplog.set_level(logging.DEBUG)
    fake.graph_failures = 1  # the failure path logs too

    microsoft_sign_in(client, fake, mia)
    extra_data, access_token, refresh_token = stored_tokens(mia)

    assert caplog.records  # something was logged, so the check below means something
    for secret in (access_token, refresh_token, extra_data["access_token"], extra_data["refresh_token"]):
        assert secret not in caplog.text
    assert not JWT.search(caplog.text)
