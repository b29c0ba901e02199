"""Sign in with Microsoft beside local accounts: the account it creates or finds (C14), deactivated
users, roles and the tokens kept (C12). Driven through the Django test client against the fake Entra
ID: POST the login button, follow the authorize URL with `requests`, and bring the callback back to
the app. Refused sign-ins: test_entra_signin_refused.py; the button, next and sign-out:
test_entra_login_and_logout.py.
"""

import json
import logging
import time

import jwt
import pytest
import requests
from django.conf import settings
from django.urls import reverse
from social_django.models import UserSocialAuth

from accounts.models import User
from accounts.tests.entra_fixtures import (
    CLIENT,
    PROVIDER,
    TENANT,
    TIMEOUT,
    microsoft_sign_in,
)
from accounts.tests.signin_helpers import (
    DASHBOARD,
    DEACTIVATED_MESSAGE,
    FERNET,
    JWT,
    LOGIN,
    LOGOUT,
    UNVERIFIED_MESSAGE,
    account_of,
    add_user,
    assert_refused,
    signed_in_user,
)
from accounts.tokens import decrypt
from conftest import make_user
from devtools.fake_entra import FakeUser

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("entra")]


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
