"""The Teams app package: valid against Microsoft's schema, built from settings, refused when broken."""

import io
import json
import zipfile
from unittest import mock

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import resolve
from PIL import Image

from teams_app import activity_types, icons, manifest
from teams_app.tests import package_checks
from teams_app.tests.package_checks import APP_ID, CLIENT_ID, TEAMS_SETTINGS


@pytest.fixture
def teams_settings(settings):
    for name, value in TEAMS_SETTINGS.items():
        setattr(settings, name, value)
    return settings


@pytest.fixture
def files(teams_settings) -> dict[str, bytes]:
    return manifest.package_files(manifest.package_settings())


def read_manifest(files: dict[str, bytes]) -> dict:
    return json.loads(files["manifest.json"])


def write_manifest(files: dict[str, bytes], data: dict) -> dict[str, bytes]:
    return {**files, "manifest.json": json.dumps(data).encode()}


def png(size: tuple[int, int], mode: str, color) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, format="PNG")
    return buffer.getvalue()


# --- A good package --------------------------------------------------------------------------------


def test_package_passes_every_check(teams_settings):
    assert package_checks.package_problems(manifest.build_package()) == []


def test_manifest_uses_a_current_manifest_version_and_microsofts_schema_for_it(files):
    data = read_manifest(files)

    version = tuple(int(part) for part in data["manifestVersion"].split("."))
    assert version >= (1, 25)
    assert data["$schema"].endswith(f"/v{data['manifestVersion']}/MicrosoftTeams.schema.json")
    assert package_checks.schema_errors(data, data["manifestVersion"], package_checks.MANIFEST_SCHEMA) == []


def test_zip_holds_the_manifest_icons_and_both_languages_at_the_top_level(teams_settings):
    archive = zipfile.ZipFile(io.BytesIO(manifest.build_package()))

    assert archive.namelist() == ["manifest.json", "en-us.json", "de-de.json", "color.png", "outline.png"]


def test_manifest_values_come_from_settings(files):
    data = read_manifest(files)

    assert data["id"] == APP_ID
    assert data["version"] == "1.2.3"
    assert data["developer"] == {
        "name": "Example Ltd IT",
        "websiteUrl": "https://tickets.example.com/",
        "privacyUrl": "https://www.example.com/privacy",
        "termsOfUseUrl": "https://www.example.com/terms",
    }
    assert data["validDomains"] == ["tickets.example.com"]
    assert data["webApplicationInfo"] == {"id": CLIENT_ID, "resource": f"api://tickets.example.com/{CLIENT_ID}"}


def test_manifest_has_the_two_personal_tabs(files):
    tabs = read_manifest(files)["staticTabs"]

    assert [(tab["entityId"], tab["name"], tab["contentUrl"], tab["websiteUrl"], tab["scopes"]) for tab in tabs] == [
        ("myTickets", "My tickets", "https://tickets.example.com/teams/", "https://tickets.example.com/", ["personal"]),
        (
            "newTicket",
            "New ticket",
            "https://tickets.example.com/teams/new/",
            "https://tickets.example.com/tickets/new/",
            ["personal"],
        ),
    ]


def test_tab_addresses_lead_to_the_tab_views_and_their_pages_on_the_site():
    assert [
        (resolve(content).kwargs["entity"], resolve(website).view_name) for _, _, content, website in manifest.TABS
    ] == [
        ("myTickets", "dashboard"),
        ("newTicket", "tickets:new"),
    ]


def test_manifest_declares_exactly_the_activity_types_the_app_sends(files):
    declared = read_manifest(files)["activities"]["activityTypes"]

    assert [(item["type"], item["description"], item["templateText"]) for item in declared] == [
        (activity.type, activity.description, activity.template_text) for activity in activity_types.ALL
    ]


def test_manifest_asks_for_the_activity_feed_permission_of_its_own_installations(files):
    permissions = read_manifest(files)["authorization"]["permissions"]["resourceSpecific"]

    assert permissions == [{"name": "TeamsActivity.Send.User", "type": "Application"}]


def test_manifest_stays_english_whatever_language_is_active(teams_settings):
    with manifest.translation.override("de"):
        data = manifest.manifest(manifest.package_settings())

    assert [tab["name"] for tab in data["staticTabs"]] == ["My tickets", "New ticket"]


def test_same_settings_give_the_same_package_bytes(teams_settings):
    assert manifest.build_package() == manifest.build_package()


# --- Localisation ----------------------------------------------------------------------------------


def test_manifest_names_both_localisation_files(files):
    assert read_manifest(files)["localizationInfo"] == {
        "defaultLanguageTag": "en-us",
        "defaultLanguageFile": "en-us.json",
        "additionalLanguages": [{"languageTag": "de-de", "file": "de-de.json"}],
    }


def test_localisation_files_are_valid_and_the_german_one_is_german(files):
    english, german = json.loads(files["en-us.json"]), json.loads(files["de-de.json"])

    for strings in (english, german):
        assert (
            package_checks.schema_errors(strings, manifest.MANIFEST_VERSION, package_checks.LOCALIZATION_SCHEMA) == []
        )
    assert english["staticTabs[0].name"] == "My tickets"
    assert (german["staticTabs[0].name"], german["staticTabs[1].name"]) == ("Meine Tickets", "Neues Ticket")
    assert set(german) == set(english)


def test_localised_feed_texts_keep_the_placeholders_that_graph_fills(files):
    for name in ("en-us.json", "de-de.json"):
        strings = json.loads(files[name])
        for index, activity in enumerate(activity_types.ALL):
            template = strings[f"activities.activityTypes[{index}].templateText"]
            assert manifest._PLACEHOLDER.findall(template) == manifest._PLACEHOLDER.findall(activity.template_text)


def test_translation_with_other_placeholders_falls_back_to_english(teams_settings):
    status = activity_types.TICKET_STATUS
    broken = {status.template_text: "Ticket {nummer} ist jetzt {zustand}"}

    with mock.patch.object(manifest, "gettext", side_effect=lambda text: broken.get(text, text)):
        german = manifest.localizations()["de-de.json"]

    index = activity_types.ALL.index(status)
    assert german[f"activities.activityTypes[{index}].templateText"] == status.template_text


# --- Icons -----------------------------------------------------------------------------------------


def test_color_icon_is_192_square_on_the_brand_colour():
    image = Image.open(io.BytesIO(icons.color_icon()))

    assert (image.format, image.size) == ("PNG", (192, 192))
    assert image.convert("RGB").getpixel((0, 0)) == (0x4F, 0x52, 0xBA)
    assert image.convert("RGB").getpixel((96, 60)) == (255, 255, 255)  # the ticket


def test_outline_icon_is_32_square_white_on_transparent():
    image = Image.open(io.BytesIO(icons.outline_icon()))

    assert (image.format, image.size, image.mode) == ("PNG", (32, 32), "RGBA")
    assert image.getchannel("A").getextrema() == (0, 255)
    assert image.getpixel((0, 0))[3] == 0  # a corner is transparent
    assert image.convert("RGB").getextrema() == ((255, 255), (255, 255), (255, 255))


# --- Broken packages are caught --------------------------------------------------------------------


def _without_developer(data):
    del data["developer"]


def _bad_app_id(data):
    data["id"] = "6f1c2a4e-0d55-4f7b-9d8e"


def _bad_client_id(data):
    data["webApplicationInfo"]["id"] = "not-a-guid"


def _http_tab(data):
    data["staticTabs"][0]["contentUrl"] = "http://tickets.example.com/teams/"


def _http_privacy_url(data):
    data["developer"]["privacyUrl"] = "http://www.example.com/privacy"


def _tab_on_another_host(data):
    data["staticTabs"][1]["contentUrl"] = "https://elsewhere.example.net/teams/new/"


def _undeclared_activity_type(data):
    data["activities"]["activityTypes"].pop()


def _activity_type_never_sent(data):
    data["activities"]["activityTypes"].append({"type": "ticketDeleted", "description": "x", "templateText": "x"})


def _activity_without_template(data):
    del data["activities"]["activityTypes"][0]["templateText"]


def _resource_for_another_host(data):
    data["webApplicationInfo"]["resource"] = f"api://{CLIENT_ID}"


def _unknown_property(data):
    data["botsAndMore"] = []


def _name_too_long(data):
    data["name"]["short"] = "TinyTeamsTicket for the whole company"


def _bad_accent_color(data):
    data["accentColor"] = "indigo"


@pytest.mark.parametrize(
    ("break_manifest", "expected"),
    [
        (_without_developer, "'developer' is a required property"),
        (_bad_app_id, "id: '6f1c2a4e-0d55-4f7b-9d8e' does not match"),
        (_bad_client_id, "webApplicationInfo/id: 'not-a-guid' does not match"),
        (_http_tab, "http://tickets.example.com/teams/ is not https"),
        (_http_privacy_url, "http://www.example.com/privacy is not https"),
        (_tab_on_another_host, "newTicket: contentUrl host is not in validDomains"),
        (_undeclared_activity_type, "activity type ticketServiceLevel is sent but not declared"),
        (_activity_type_never_sent, "activity type ticketDeleted is declared but never sent"),
        (_activity_without_template, "'templateText' is a required property"),
        (_resource_for_another_host, "is not api://tickets.example.com/"),
        (_unknown_property, "Additional properties are not allowed ('botsAndMore'"),
        (_name_too_long, "name/short: 'TinyTeamsTicket for the whole company' is too long"),
        (_bad_accent_color, "accentColor: 'indigo' does not match"),
    ],
)
def test_checks_catch_a_broken_manifest(files, break_manifest, expected):
    data = read_manifest(files)
    break_manifest(data)

    problems = package_checks.package_problems(manifest.zip_files(write_manifest(files, data)))

    assert any(expected in problem for problem in problems), problems


@pytest.mark.parametrize(
    ("name", "replacement", "expected"),
    [
        ("color.png", png((96, 96), "RGB", "#4f52ba"), "color.png: 96×96, not 192×192"),
        ("outline.png", png((48, 48), "RGBA", (255, 255, 255, 0)), "outline.png: 48×48, not 32×32"),
        ("outline.png", png((32, 32), "RGB", "white"), "needs an alpha channel"),
        ("outline.png", png((32, 32), "RGBA", (255, 255, 255, 255)), "needs transparent and opaque pixels"),
        ("outline.png", png((32, 32), "RGBA", (79, 82, 186, 255)), "needs transparent and opaque pixels"),
        ("color.png", b"GIF89a not a png", "color.png: not an image"),
    ],
)
def test_checks_catch_a_wrong_icon(files, name, replacement, expected):
    problems = package_checks.package_problems(manifest.zip_files({**files, name: replacement}))

    assert any(expected in problem for problem in problems), problems


def test_checks_catch_a_coloured_outline_icon(files):
    image = Image.open(io.BytesIO(files["outline.png"])).copy()
    image.putpixel((16, 16), (255, 0, 0, 255))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")

    problems = package_checks.package_problems(manifest.zip_files({**files, "outline.png": buffer.getvalue()}))

    assert "outline.png: visible pixels must be white" in problems


def test_checks_catch_a_missing_file_and_a_broken_localisation_file(files):
    german = json.loads(files["de-de.json"])
    german["name.short"] = "x" * 31
    german["bots[0].commandLists[0].commands[0].nonsense"] = "?"
    broken = {**files, "de-de.json": json.dumps(german).encode()}
    del broken["outline.png"]

    problems = package_checks.package_problems(manifest.zip_files(broken))

    assert "icon outline: outline.png is not in the zip" in problems
    assert any("MicrosoftTeams.Localization.schema.json: name.short:" in problem for problem in problems), problems
    assert any("'bots[0].commandLists[0].commands[0].nonsense' does not match any" in p for p in problems), problems


def test_schema_check_enforces_the_manifest_version_constant(files):
    # "const" is draft-06; a plain draft-04 validator would let any manifestVersion through.
    data = {**read_manifest(files), "manifestVersion": "1.24"}

    errors = package_checks.schema_errors(data, manifest.MANIFEST_VERSION, package_checks.MANIFEST_SCHEMA)

    assert errors == [f"MicrosoftTeams.schema.json: manifestVersion: '{manifest.MANIFEST_VERSION}' was expected"]


def test_schema_patterns_with_unicode_letter_classes_are_enforced():
    # Microsoft writes \p{L} (any letter) in JavaScript syntax; Python's re cannot compile it.
    schema = package_checks.schema_validator(manifest.MANIFEST_VERSION, package_checks.MANIFEST_SCHEMA).schema
    name_schema = schema["definitions"]["extensionFunction"]["properties"]["name"]
    assert "\\p{L}" in name_schema["pattern"]
    validator = package_checks.TeamsSchemaValidator(name_schema)

    assert validator.is_valid("Größe_2")
    assert not validator.is_valid("2Größe")


# --- Settings ----------------------------------------------------------------------------------------


def test_missing_settings_are_named(teams_settings):
    teams_settings.TEAMS_APP_ID = ""
    teams_settings.ENTRA_CLIENT_ID = ""
    teams_settings.TEAMS_PRIVACY_URL = ""
    teams_settings.TEAMS_TERMS_URL = ""

    with pytest.raises(manifest.PackageSettingsError) as error:
        manifest.package_settings()

    assert [problem.setting for problem in error.value.problems] == [
        "TEAMS_APP_ID",
        "ENTRA_CLIENT_ID",
        "TEAMS_PRIVACY_URL",
        "TEAMS_TERMS_URL",
    ]
    for name in ("TEAMS_APP_ID", "ENTRA_CLIENT_ID", "TEAMS_PRIVACY_URL", "TEAMS_TERMS_URL"):
        assert name in str(error.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SITE_URL", "http://localhost:8000"),
        ("TEAMS_APP_ID", "my-teams-app"),
        ("ENTRA_CLIENT_ID", "tickets-app"),
        ("ENTRA_APP_ID_URI", f"api://{CLIENT_ID}"),
        ("TEAMS_APP_VERSION", "1.0"),
        ("TEAMS_DEVELOPER_NAME", "Example Information Technology Services Ltd"),
        ("TEAMS_DEVELOPER_URL", "http://www.example.com/"),
        ("TEAMS_TERMS_URL", "terms.html"),
    ],
)
def test_wrong_setting_is_named(teams_settings, name, value):
    setattr(teams_settings, name, value)

    assert [problem.setting for problem in manifest.package_problems()] == [name]
    with pytest.raises(manifest.PackageSettingsError, match=name):
        manifest.build_package()


def test_complete_settings_have_no_problems(teams_settings):
    assert manifest.package_problems() == []


def test_command_writes_the_package(teams_settings, tmp_path):
    output = tmp_path / "teams.zip"
    stdout = io.StringIO()

    call_command("teams_package", "--output", str(output), stdout=stdout)

    assert package_checks.package_problems(output.read_bytes()) == []
    assert f"Wrote {output}" in stdout.getvalue()


def test_command_names_the_missing_settings_and_writes_nothing(teams_settings, tmp_path):
    teams_settings.TEAMS_APP_ID = ""
    output = tmp_path / "teams.zip"

    with pytest.raises(CommandError, match="TEAMS_APP_ID"):
        call_command("teams_package", "--output", str(output))

    assert not output.exists()
