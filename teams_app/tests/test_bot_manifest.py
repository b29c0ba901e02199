"""With the bot registered, the package declares it (personal and team scopes, no files) and the
"Create ticket" message action, and still passes Microsoft's manifest schema."""

import json

import pytest

from teams_app import manifest
from teams_app.tests import package_checks
from teams_app.tests.package_checks import CLIENT_ID, TEAMS_SETTINGS


@pytest.fixture
def bot_settings(settings):
    for name, value in TEAMS_SETTINGS.items():
        setattr(settings, name, value)
    settings.TEAMS_BOT_ENABLED = True
    return settings


def test_the_package_with_the_bot_passes_every_check(bot_settings):
    assert package_checks.package_problems(manifest.build_package()) == []


def test_the_manifest_declares_the_bot_and_the_message_action(bot_settings):
    data = json.loads(manifest.package_files(manifest.package_settings())["manifest.json"])
    assert data["bots"] == [
        {"botId": CLIENT_ID, "scopes": ["personal", "team"], "supportsFiles": False, "isNotificationOnly": False}
    ]
    [extension] = data["composeExtensions"]
    assert extension["botId"] == CLIENT_ID
    [command] = extension["commands"]
    assert (command["id"], command["type"], command["context"], command["fetchTask"]) == (
        "createTicket",
        "action",
        ["message"],
        True,
    )
    assert command["title"] == "Create ticket"


def test_the_message_action_is_translated(bot_settings):
    files = manifest.package_files(manifest.package_settings())
    german = json.loads(files["de-de.json"])
    assert german["composeExtensions[0].commands[0].title"] == "Ticket erstellen"


def test_without_the_bot_the_package_has_neither(bot_settings):
    bot_settings.TEAMS_BOT_ENABLED = False
    files = manifest.package_files(manifest.package_settings())
    data = json.loads(files["manifest.json"])
    assert "bots" not in data and "composeExtensions" not in data
    assert not any(key.startswith("composeExtensions") for key in json.loads(files["de-de.json"]))


def test_the_setup_page_lists_the_azure_bot_registration_with_the_admins_values(client, bot_settings, db):
    from conftest import make_user

    bot_settings.ENTRA_TENANT_ID = "7e3a1c55-2b7d-4f0e-9c41-0a1b2c3d4e5f"
    client.force_login(make_user("stefan", is_staff=True))
    page = client.get("/teams/setup/").content.decode()
    section = page[page.index('id="bot-registration"') :]
    for expected in (
        CLIENT_ID,
        "7e3a1c55-2b7d-4f0e-9c41-0a1b2c3d4e5f",
        "https://tickets.example.com/teams/bot/messages",
        "Microsoft Teams",
        "The bot is on",
    ):
        assert expected in section
    assert "TEAMS_BOT_ENABLED" in page  # among the settings, with its value
