"""The admins' Teams setup page and its package download: staff only, built from the settings."""

import io
import zipfile

import pytest
from django.urls import resolve, reverse

from conftest import make_user
from teams_app import registration
from teams_app.tests import package_checks
from teams_app.tests.package_checks import APP_ID, CLIENT_ID, TEAMS_SETTINGS

SETUP_URL = "/teams/setup/"
PACKAGE_URL = "/teams/setup/package.zip"


@pytest.fixture
def teams_settings(settings):
    for name, value in TEAMS_SETTINGS.items():
        setattr(settings, name, value)
    return settings


@pytest.fixture
def staff(db):
    return make_user("stefan", is_staff=True)


def test_urls_are_the_agreed_ones():
    assert reverse("teams_app:setup") == SETUP_URL
    assert reverse("teams_app:setup_package") == PACKAGE_URL


@pytest.mark.parametrize("url", [SETUP_URL, PACKAGE_URL])
def test_anonymous_visitor_is_sent_to_sign_in(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


@pytest.mark.parametrize("url", [SETUP_URL, PACKAGE_URL])
@pytest.mark.parametrize("persona", ["employee", "agent"])
def test_non_staff_get_not_found(client, teams_settings, request, persona, url):
    client.force_login(request.getfixturevalue(persona))

    assert client.get(url).status_code == 404


def test_staff_see_the_entra_registration_checklist(client, teams_settings, staff):
    client.force_login(staff)

    response = client.get(SETUP_URL)

    assert response.status_code == 200
    page = response.content.decode()
    for expected in (
        "https://tickets.example.com/auth/complete/azuread-v2-tenant-oauth2/",
        "https://tickets.example.com/teams/auth/end/",
        f"api://tickets.example.com/{CLIENT_ID}",
        "access_as_user",
        "User.Read",
        "TeamsActivity.Send",
        "Tickets.Agent",
        "Tickets.Admin",
        APP_ID,
        *(client_id for client_id, _label in registration.PREAUTHORIZED_CLIENTS),
        *registration.SETTINGS,
    ):
        assert expected in page, expected
    assert f'href="{PACKAGE_URL}"' in page
    assert "cannot be built yet" not in page


def test_page_never_shows_the_client_secret(client, teams_settings, staff):
    client.force_login(staff)

    page = client.get(SETUP_URL).content.decode()

    assert TEAMS_SETTINGS["ENTRA_CLIENT_SECRET"] not in page
    assert "set (not shown)" in page


def test_app_roles_follow_the_role_map(client, teams_settings, staff):
    teams_settings.ENTRA_ROLE_MAP = {"Helpdesk.Staff": "agent"}
    client.force_login(staff)

    page = client.get(SETUP_URL).content.decode()

    assert "Helpdesk.Staff" in page
    assert "Tickets.Agent" not in page


def test_incomplete_settings_are_named_and_there_is_nothing_to_download(client, teams_settings, staff):
    teams_settings.TEAMS_APP_ID = ""
    teams_settings.TEAMS_PRIVACY_URL = "http://www.example.com/privacy"
    client.force_login(staff)

    page = client.get(SETUP_URL).content.decode()

    assert "The Teams package cannot be built yet" in page
    assert "Set TEAMS_APP_ID to a GUID" in page
    assert "TEAMS_PRIVACY_URL must be an https address; it is http://www.example.com/privacy." in page
    assert f'href="{PACKAGE_URL}"' not in page


def test_download_with_incomplete_settings_leads_back_to_the_page(client, teams_settings, staff):
    teams_settings.TEAMS_APP_ID = ""
    client.force_login(staff)

    response = client.get(PACKAGE_URL, follow=True)

    assert response.redirect_chain == [(SETUP_URL, 302)]
    assert "The Teams package cannot be built yet: some settings are missing." in response.content.decode()


def test_staff_download_the_package_as_an_attachment(client, teams_settings, staff):
    client.force_login(staff)

    response = client.get(PACKAGE_URL)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == 'attachment; filename="tinyteamsticket-teams-1.2.3.zip"'
    assert "no-cache" in response["Cache-Control"]
    package = response.content
    names = zipfile.ZipFile(io.BytesIO(package)).namelist()
    assert names == ["manifest.json", "en-us.json", "de-de.json", "color.png", "outline.png"]
    assert package_checks.package_problems(package) == []


def test_download_is_get_only(client, teams_settings, staff):
    client.force_login(staff)

    assert client.post(PACKAGE_URL).status_code == 405


def test_sidebar_links_the_page_for_staff_only(client, teams_settings, staff, employee):
    client.force_login(staff)
    assert f'href="{SETUP_URL}"' in client.get(reverse("dashboard")).content.decode()

    client.force_login(employee)
    assert f'href="{SETUP_URL}"' not in client.get(reverse("dashboard")).content.decode()


def test_redirect_uris_on_the_page_are_the_apps_own_routes():
    assert resolve(registration.SIGN_IN_REDIRECT_PATH).view_name == "social:complete"
    assert resolve(registration.SIGN_IN_REDIRECT_PATH).kwargs == {"backend": "azuread-v2-tenant-oauth2"}
    assert resolve(registration.TEAMS_POPUP_REDIRECT_PATH).view_name == "teams_app:auth_end"
