"""The Teams app package: ``manifest.json``, the two icons and the English and German localisation
files, zipped for upload in the Teams admin center.

Everything comes from settings (SITE_URL, ENTRA_CLIENT_ID, ENTRA_APP_ID_URI and the TEAMS_ values);
:func:`package_settings` checks them first and names every one that is missing or wrong. The same
settings always give the same zip, byte for byte.

Manifest version 1.25: a current published schema with everything this app uses (personal tabs, tab
SSO, activity-feed types, resource-specific consent); 1.26 to 1.30 add store feature lists and bot,
agent and message-extension options that it does not use. The tests validate the output against
Microsoft's schema for this version.
"""

import io
import json
import re
import uuid
import zipfile
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from teams_app import activity_types, icons

MANIFEST_VERSION = "1.25"
SCHEMA_BASE_URL = f"https://developer.microsoft.com/json-schemas/teams/v{MANIFEST_VERSION}"

# Teams' language tags and the Django language each localisation file is written in; the first one
# is the manifest's own language.
LANGUAGES = {"en-us": "en", "de-de": "de"}
DEFAULT_LANGUAGE_TAG = "en-us"

COLOR_ICON = "color.png"
OUTLINE_ICON = "outline.png"

# The static tabs: entity id, name, path inside the tab, path of the same page on the normal site.
# Deep links into the app use the "myTickets" entity with a subEntityId of "ticket-<id>".
TABS = (
    ("myTickets", _("My tickets"), "/teams/", "/"),
    ("newTicket", _("New ticket"), "/teams/new/", "/tickets/new/"),
)

# The message action ("…" menu of any chat or channel message): file a ticket from the message.
CREATE_TICKET_COMMAND = "createTicket"
CREATE_TICKET_TITLE = _("Create ticket")
CREATE_TICKET_DESCRIPTION = _("File an IT ticket from this message.")
BOT_SCOPES = ["personal", "team"]

APP_NAME = "TinyTeamsTicket"
APP_FULL_NAME = _("TinyTeamsTicket – IT help desk")
APP_DESCRIPTION = _("Report IT problems in a few clicks and follow your tickets.")
APP_FULL_DESCRIPTION = _(
    "File an IT ticket by choosing what is wrong step by step (for example Hardware › Printer › "
    "Paper jam) instead of writing long e-mails. Follow your tickets, answer questions from IT and "
    "get a notification in Teams whenever something changes. IT staff see their queue, take "
    "tickets and reply without leaving Teams."
)

# Resource-specific consent for the activity feed: with it, installing the app for a person is
# enough to notify them, even without the tenant-wide TeamsActivity.Send application permission.
ACTIVITY_FEED_PERMISSION = "TeamsActivity.Send.User"

# The limits Teams' schema sets on these values.
_SEMVER = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")
DEVELOPER_NAME_MAX_LENGTH = 32
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
# A fixed timestamp for the zip entries, so the same settings give the same package bytes.
_ZIP_DATE_TIME = (2025, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Problem:
    """One setting that keeps the package from being built; ``message`` names it and says what to do."""

    setting: str
    message: str

    def __str__(self) -> str:
        return self.message


class PackageSettingsError(ImproperlyConfigured):
    """The package cannot be built; ``problems`` says why."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__(
            "The Teams app package cannot be built yet:\n" + "\n".join(f"- {problem}" for problem in problems)
        )


@dataclass(frozen=True)
class PackageSettings:
    site_url: str
    host: str
    app_id: str
    app_version: str
    developer_name: str
    developer_url: str
    privacy_url: str
    terms_url: str
    client_id: str
    app_id_uri: str
    # The bot and its message action are declared only once the Azure Bot is registered.
    bot_enabled: bool = False


def _guid(value: str) -> str | None:
    try:
        return str(uuid.UUID(value)) if value else None
    except ValueError:
        return None


def _is_https_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme == "https" and bool(parts.hostname)


def site_host(site_url: str) -> str:
    """The host (and port, if one is given) of ``site_url``, in lower case, as validDomains wants it."""
    parts = urlsplit(site_url)
    host = (parts.hostname or "").lower()
    return f"{host}:{parts.port}" if parts.port else host


def package_problems() -> list[Problem]:
    """What keeps the package from being built, one problem per setting; empty when it can be."""
    problems = []

    def problem(setting: str, message: str, **values: object) -> None:
        problems.append(Problem(setting, message % values if values else message))

    site_url = settings.SITE_URL
    if not _is_https_url(site_url):
        problem(
            "SITE_URL",
            gettext("SITE_URL must be the public https address of this site, such as %(example)s; it is %(value)s."),
            example="https://tickets.example.com",
            value=site_url or "empty",
        )
    if not settings.TEAMS_APP_ID:
        problem(
            "TEAMS_APP_ID", gettext("Set TEAMS_APP_ID to a GUID of its own and keep it: Teams knows the app by it.")
        )
    elif not _guid(settings.TEAMS_APP_ID):
        problem("TEAMS_APP_ID", gettext("TEAMS_APP_ID must be a GUID; it is %(value)s."), value=settings.TEAMS_APP_ID)
    if not settings.ENTRA_CLIENT_ID:
        problem(
            "ENTRA_CLIENT_ID",
            gettext(
                "Set ENTRA_CLIENT_ID (with ENTRA_TENANT_ID and ENTRA_CLIENT_SECRET): the tab signs people in "
                "through the Entra app registration."
            ),
        )
    elif not _guid(settings.ENTRA_CLIENT_ID):
        problem(
            "ENTRA_CLIENT_ID",
            gettext("ENTRA_CLIENT_ID must be the application (client) ID, a GUID; it is %(value)s."),
            value=settings.ENTRA_CLIENT_ID,
        )
    elif _is_https_url(site_url) and not settings.ENTRA_APP_ID_URI.startswith(f"api://{site_host(site_url)}/"):
        # Teams only hands out SSO tokens when the Application ID URI names the tab's own host.
        problem(
            "ENTRA_APP_ID_URI",
            gettext("ENTRA_APP_ID_URI must start with %(prefix)s; it is %(value)s."),
            prefix=f"api://{site_host(site_url)}/",
            value=settings.ENTRA_APP_ID_URI,
        )
    if not _SEMVER.match(settings.TEAMS_APP_VERSION):
        problem(
            "TEAMS_APP_VERSION",
            gettext("TEAMS_APP_VERSION must be a version such as 1.0.0; it is %(value)s."),
            value=settings.TEAMS_APP_VERSION,
        )
    if not 0 < len(settings.TEAMS_DEVELOPER_NAME) <= DEVELOPER_NAME_MAX_LENGTH:
        problem(
            "TEAMS_DEVELOPER_NAME",
            gettext("TEAMS_DEVELOPER_NAME must have 1 to %(max)d characters."),
            max=DEVELOPER_NAME_MAX_LENGTH,
        )
    for name in ("TEAMS_DEVELOPER_URL", "TEAMS_PRIVACY_URL", "TEAMS_TERMS_URL"):
        value = getattr(settings, name)
        if not value:
            problem(name, gettext("Set %(name)s to an https address."), name=name)
        elif not _is_https_url(value):
            problem(name, gettext("%(name)s must be an https address; it is %(value)s."), name=name, value=value)
    return problems


def package_settings() -> PackageSettings:
    """The settings the package is built from; raises PackageSettingsError naming what is missing."""
    problems = package_problems()
    if problems:
        raise PackageSettingsError(problems)
    return PackageSettings(
        site_url=settings.SITE_URL.rstrip("/"),
        host=site_host(settings.SITE_URL),
        app_id=str(uuid.UUID(settings.TEAMS_APP_ID)),
        app_version=settings.TEAMS_APP_VERSION,
        developer_name=settings.TEAMS_DEVELOPER_NAME,
        developer_url=settings.TEAMS_DEVELOPER_URL,
        privacy_url=settings.TEAMS_PRIVACY_URL,
        terms_url=settings.TEAMS_TERMS_URL,
        client_id=str(uuid.UUID(settings.ENTRA_CLIENT_ID)),
        app_id_uri=settings.ENTRA_APP_ID_URI,
        bot_enabled=settings.TEAMS_BOT_ENABLED,
    )


# --- The files --------------------------------------------------------------------------------------


def localization_file(language_tag: str) -> str:
    return f"{language_tag}.json"


def _texts(config: PackageSettings | None = None) -> dict[str, str]:
    """The translatable values in the active language, keyed as localisation files key them."""
    texts = {
        "name.short": APP_NAME,
        "name.full": str(APP_FULL_NAME),
        "description.short": str(APP_DESCRIPTION),
        "description.full": str(APP_FULL_DESCRIPTION),
    }
    for index, (_entity, name, _content_path, _website_path) in enumerate(TABS):
        texts[f"staticTabs[{index}].name"] = str(name)
    for index, activity in enumerate(activity_types.ALL):
        texts[f"activities.activityTypes[{index}].description"] = gettext(activity.description)
        template = gettext(activity.template_text)
        # Graph fills exactly the English placeholders; a translation with others would break the feed.
        if set(_PLACEHOLDER.findall(template)) != set(_PLACEHOLDER.findall(activity.template_text)):
            template = activity.template_text
        texts[f"activities.activityTypes[{index}].templateText"] = template
    if config is not None and config.bot_enabled:
        texts["composeExtensions[0].commands[0].title"] = str(CREATE_TICKET_TITLE)
        texts["composeExtensions[0].commands[0].description"] = str(CREATE_TICKET_DESCRIPTION)
    return texts


def _bot_parts(config: PackageSettings, texts: dict[str, str]) -> dict[str, Any]:
    """The bot (personal chat and teams, no files) and its "Create ticket" message action; the bot
    is the single-tenant Azure Bot on the Entra app registration, so its id is the client id."""
    return {
        "bots": [
            {
                "botId": config.client_id,
                "scopes": BOT_SCOPES,
                "supportsFiles": False,
                "isNotificationOnly": False,
            }
        ],
        "composeExtensions": [
            {
                "botId": config.client_id,
                "commands": [
                    {
                        "id": CREATE_TICKET_COMMAND,
                        "type": "action",
                        "title": texts["composeExtensions[0].commands[0].title"],
                        "description": texts["composeExtensions[0].commands[0].description"],
                        "context": ["message"],
                        "fetchTask": True,
                    }
                ],
            }
        ],
    }


def manifest(config: PackageSettings) -> dict[str, Any]:
    """manifest.json, in English; the localisation files carry the German texts."""
    with translation.override(LANGUAGES[DEFAULT_LANGUAGE_TAG]):
        texts = _texts(config)
    return {
        "$schema": f"{SCHEMA_BASE_URL}/MicrosoftTeams.schema.json",
        "manifestVersion": MANIFEST_VERSION,
        "version": config.app_version,
        "id": config.app_id,
        "localizationInfo": {
            "defaultLanguageTag": DEFAULT_LANGUAGE_TAG,
            "defaultLanguageFile": localization_file(DEFAULT_LANGUAGE_TAG),
            "additionalLanguages": [
                {"languageTag": tag, "file": localization_file(tag)} for tag in LANGUAGES if tag != DEFAULT_LANGUAGE_TAG
            ],
        },
        "developer": {
            "name": config.developer_name,
            "websiteUrl": config.developer_url,
            "privacyUrl": config.privacy_url,
            "termsOfUseUrl": config.terms_url,
        },
        "name": {"short": texts["name.short"], "full": texts["name.full"]},
        "description": {"short": texts["description.short"], "full": texts["description.full"]},
        "icons": {"color": COLOR_ICON, "outline": OUTLINE_ICON},
        "accentColor": icons.BRAND_COLOR,
        "staticTabs": [
            {
                "entityId": entity,
                "name": texts[f"staticTabs[{index}].name"],
                "contentUrl": f"{config.site_url}{content_path}",
                "websiteUrl": f"{config.site_url}{website_path}",
                "scopes": ["personal"],
            }
            for index, (entity, _name, content_path, website_path) in enumerate(TABS)
        ],
        "validDomains": [config.host],
        # Tab SSO: Teams asks Entra for a token for this resource on the signed-in person's behalf.
        "webApplicationInfo": {"id": config.client_id, "resource": config.app_id_uri},
        "activities": {
            "activityTypes": [
                {
                    "type": activity.type,
                    "description": texts[f"activities.activityTypes[{index}].description"],
                    "templateText": texts[f"activities.activityTypes[{index}].templateText"],
                }
                for index, activity in enumerate(activity_types.ALL)
            ]
        },
        "authorization": {
            "permissions": {"resourceSpecific": [{"name": ACTIVITY_FEED_PERMISSION, "type": "Application"}]}
        },
        **(_bot_parts(config, texts) if config.bot_enabled else {}),
        "defaultInstallScope": "personal",
    }


def localizations(config: PackageSettings | None = None) -> dict[str, dict[str, str]]:
    """One localisation file per language, by file name (Microsoft's Localization schema)."""
    files = {}
    for tag, language in LANGUAGES.items():
        with translation.override(language):
            files[localization_file(tag)] = {
                "$schema": f"{SCHEMA_BASE_URL}/MicrosoftTeams.Localization.schema.json",
                **_texts(config),
            }
    return files


def _json(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def package_files(config: PackageSettings) -> dict[str, bytes]:
    """The package's files by name; the manifest first, all at the top level of the zip."""
    files = {"manifest.json": _json(manifest(config))}
    files.update({name: _json(content) for name, content in localizations(config).items()})
    files[COLOR_ICON] = icons.color_icon()
    files[OUTLINE_ICON] = icons.outline_icon()
    return files


def zip_files(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            entry = zipfile.ZipInfo(name, date_time=_ZIP_DATE_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            archive.writestr(entry, content)
    return buffer.getvalue()


def build_package(config: PackageSettings | None = None) -> bytes:
    """The zip an admin uploads to Teams; raises PackageSettingsError when settings are missing."""
    return zip_files(package_files(config or package_settings()))


def package_filename(config: PackageSettings) -> str:
    return f"tinyteamsticket-teams-{config.app_version}.zip"
