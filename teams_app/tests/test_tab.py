"""The Teams tab: who may frame which page, the /teams/app/ mirror of the site, and SSO sign-in."""

import json

import pytest
from django.urls import reverse
from social_django.models import UserSocialAuth

from accounts.tests.entra_fixtures import CLIENT, OTHER_TENANT
from teams_app.middleware import TEAMS_FRAME_ANCESTORS
from tickets.models import Comment

APP_ID_URI = f"api://tickets.example.com/{CLIENT}"


def frame_ancestors(response) -> str:
    policy = response["Content-Security-Policy"]
    return next(part.strip() for part in policy.split(";") if part.strip().startswith("frame-ancestors"))


# --- Framing ---------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/teams/", "/teams/new/", "/teams/auth/end/"])
def test_teams_pages_may_be_framed_by_teams_and_microsoft_365_only(client, path):
    response = client.get(path)

    assert response.status_code == 200
    assert frame_ancestors(response) == "frame-ancestors " + " ".join(TEAMS_FRAME_ANCESTORS)
    assert "X-Frame-Options" not in response


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/accounts/login/", "/healthz"])
def test_every_other_page_still_refuses_to_be_framed(client, path):
    response = client.get(path)

    assert frame_ancestors(response) == "frame-ancestors 'none'"
    assert response["X-Frame-Options"] == "DENY"


def test_app_pages_in_the_tab_may_be_framed_too(client, employee, ticket):
    client.force_login(employee)

    response = client.get(f"/teams/app/tickets/{ticket.pk}/")

    assert response.status_code == 200
    assert "teams.microsoft.com" in frame_ancestors(response)
    assert "X-Frame-Options" not in response


# --- The site mirrored under /teams/app/ -----------------------------------------------------------


def test_links_inside_the_tab_stay_inside_the_tab(client, employee, ticket):
    client.force_login(employee)

    html = client.get("/teams/app/").content.decode()

    assert f'href="/teams/app/tickets/{ticket.pk}/"' in html
    assert 'href="/teams/app/tickets/new/"' in html
    assert 'href="/tickets/new/"' not in html
    # Static files are shared, not mirrored.
    assert 'src="/static/js/app.js"' in html
    assert "MicrosoftTeams.min.js" in html  # the app pages follow Teams' theme


def test_actions_inside_the_tab_redirect_back_into_the_tab(client, employee, ticket):
    client.force_login(employee)

    response = client.post(f"/teams/app/tickets/{ticket.pk}/comment/", {"body": "Still broken."})

    assert response.status_code == 302
    assert response["Location"] == f"/teams/app/tickets/{ticket.pk}/"
    assert Comment.objects.filter(ticket=ticket, body="Still broken.").exists()


def test_the_tab_prefix_does_not_leak_into_later_url_reversing(client, employee):
    client.force_login(employee)
    client.get("/teams/app/")

    assert reverse("tickets:list") == "/tickets/"


def test_the_normal_site_does_not_load_the_teams_sdk(client, employee):
    client.force_login(employee)

    assert "MicrosoftTeams.min.js" not in client.get("/").content.decode()


def test_anonymous_visitor_in_the_tab_is_sent_to_the_login_inside_the_tab(client, db):
    response = client.get("/teams/app/tickets/")

    assert response.status_code == 302
    assert response["Location"].startswith("/teams/app/accounts/login/")


# --- Sign-in with the Teams SSO token ------------------------------------------------------------


def post_token(client, token, **extra):
    return client.post(
        reverse("teams_app:sso"),
        data=json.dumps({"token": token, **extra}),
        content_type="application/json",
    )


@pytest.fixture
def ava(fake):
    return fake.add_user(name="Ava Berg", upn="ava@contoso.example", given_name="Ava", family_name="Berg")


@pytest.mark.django_db
def test_teams_token_signs_the_user_in_and_creates_them_by_object_id(client, entra, ava, settings):
    settings.ENTRA_APP_ID_URI = APP_ID_URI
    token = entra.make_access_token(ava, audience=APP_ID_URI, version=1)

    response = post_token(client, token, theme="dark")

    assert response.status_code == 200
    social = UserSocialAuth.objects.get(provider="azuread-v2-tenant-oauth2", uid=ava.oid)
    assert social.user.get_full_name() == "Ava Berg"
    assert social.user.email == "ava@contoso.example"
    assert client.session["_auth_user_id"] == str(social.user.pk)
    page = client.get("/teams/app/").content.decode()
    assert 'data-bs-theme="dark"' in page
    assert "Hello, Ava" in page


@pytest.mark.django_db
def test_teams_sign_in_finds_the_same_user_as_the_web_sign_in(client, entra, ava, employee, settings):
    settings.ENTRA_APP_ID_URI = APP_ID_URI
    UserSocialAuth.objects.create(user=employee, provider="azuread-v2-tenant-oauth2", uid=ava.oid)

    response = post_token(client, entra.make_access_token(ava, audience=APP_ID_URI, version=1))

    assert response.status_code == 200
    assert client.session["_auth_user_id"] == str(employee.pk)
    assert UserSocialAuth.objects.count() == 1


@pytest.mark.django_db
def test_teams_sign_in_applies_the_app_roles(client, entra, fake, settings):
    settings.ENTRA_APP_ID_URI = APP_ID_URI
    person = fake.add_user(name="Ines Agent", upn="ines@contoso.example", roles=("Tickets.Agent",))

    post_token(client, entra.make_access_token(person, audience=APP_ID_URI, version=1))

    user = UserSocialAuth.objects.get(uid=person.oid).user
    assert user.groups.filter(name=settings.IT_STAFF_GROUP).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda fake, user: fake.make_access_token(user, key="foreign"), id="foreign-key"),
        pytest.param(lambda fake, user: fake.make_access_token(user, audience="api://someone-else"), id="audience"),
        pytest.param(lambda fake, user: fake.make_access_token(user, tid=OTHER_TENANT), id="other-tenant"),
        pytest.param(lambda fake, user: fake.make_access_token(user, scopes="User.Read"), id="no-scope"),
        pytest.param(lambda fake, user: fake.make_access_token(user, exp=1_000_000_000), id="expired"),
        pytest.param(lambda fake, user: "not-a-token", id="garbage"),
    ],
)
def test_bad_teams_tokens_are_refused_and_sign_nobody_in(client, entra, ava, make_token):
    response = post_token(client, make_token(entra, ava))

    assert response.status_code == 403
    assert "error" in response.json()
    assert "_auth_user_id" not in client.session
    assert not UserSocialAuth.objects.filter(uid=ava.oid).exists()


@pytest.mark.django_db
def test_a_deactivated_user_cannot_sign_in_through_teams(client, entra, ava, employee):
    UserSocialAuth.objects.create(user=employee, provider="azuread-v2-tenant-oauth2", uid=ava.oid)
    employee.is_active = False
    employee.save()

    response = post_token(client, entra.make_access_token(ava))

    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_teams_sign_in_needs_the_csrf_token(entra, ava):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)

    response = post_token(strict, entra.make_access_token(ava))

    assert response.status_code == 403
    assert "_auth_user_id" not in strict.session


@pytest.mark.django_db
def test_teams_sign_in_is_post_only_and_needs_microsoft_sign_in_configured(client, settings):
    assert client.get(reverse("teams_app:sso")).status_code == 405
    settings.ENTRA_ENABLED = False
    assert post_token(client, "x").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"token": 5}', b"{}"])
def test_malformed_sign_in_requests_get_a_clear_400(client, entra, body):
    response = client.post(reverse("teams_app:sso"), data=body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"]


@pytest.mark.django_db
def test_the_popup_start_page_posts_to_the_microsoft_sign_in_and_returns_to_the_end_page(client, entra):
    html = client.get(reverse("teams_app:auth_start")).content.decode()

    assert f'action="{reverse("social:begin", args=["azuread-v2-tenant-oauth2"])}"' in html
    assert 'method="post"' in html
    assert f'value="{reverse("teams_app:auth_end")}"' in html


def test_theme_changes_are_remembered_for_the_next_pages(client, employee):
    client.force_login(employee)

    assert client.post(reverse("teams_app:theme"), {"theme": "contrast"}).status_code == 200
    assert 'data-bs-theme="dark"' in client.get("/teams/app/").content.decode()
    assert client.post(reverse("teams_app:theme"), {"theme": "neon"}).status_code == 400
