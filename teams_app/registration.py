"""What the Entra app registration and this server's settings need for the Teams app, from the same
settings the package is built from: the admins' setup page (/teams/setup/) shows it as a checklist."""

from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from teams_app.manifest import Problem

# Paths of the two places Entra sends people back to (tests check that they resolve to the views).
SIGN_IN_REDIRECT_PATH = "/auth/complete/azuread-v2-tenant-oauth2/"
TEAMS_POPUP_REDIRECT_PATH = "/teams/auth/end/"

# The delegated permission the Teams clients ask for when they get a token for the tab.
SCOPE = "access_as_user"

# Microsoft's clients that may request that scope without asking each person for consent, from
# Microsoft's "Configure your tab app in Microsoft Entra ID" (Teams SSO) documentation. The last five
# matter once the personal tab also runs in the Microsoft 365 app and Outlook.
PREAUTHORIZED_CLIENTS = (
    ("1fec8e78-bce4-4aaf-ab1b-5451cc387264", _("Teams desktop and mobile")),
    ("5e3ce6c0-2b1f-4285-8d4b-75ee78787346", _("Teams on the web")),
    ("4765445b-32c6-49b0-83e6-1d93765276ca", _("Microsoft 365 on the web")),
    ("0ec893e0-5785-4de6-99da-4ed124e5296c", _("Microsoft 365 desktop")),
    ("d3590ed6-52b3-4102-aeff-aad2292ab01c", _("Microsoft 365 mobile and Outlook desktop")),
    ("bc59ab01-8403-45c6-8796-ac3ef710b3e3", _("Outlook on the web")),
    ("27922004-5251-4030-b22d-91ecd9a37ea4", _("Outlook mobile")),
)

DELEGATED_GRAPH_PERMISSIONS = ("openid", "profile", "offline_access", "email", "User.Read")
# Activity-feed notifications to anyone in the tenant; needs an admin's consent.
APPLICATION_GRAPH_PERMISSIONS = ("TeamsActivity.Send",)

# What each kind of app role in ENTRA_ROLE_MAP grants here.
ROLE_GRANTS = {
    "agent": _("IT staff: works tickets (member of the IT staff group)"),
    "admin": _("Administrator: everything, including this page"),
}

SECRET_SETTINGS = {"ENTRA_CLIENT_SECRET"}
# The settings the Teams app depends on, in the order an admin sets them.
SETTINGS = (
    "SITE_URL",
    "ENTRA_TENANT_ID",
    "ENTRA_CLIENT_ID",
    "ENTRA_CLIENT_SECRET",
    "ENTRA_APP_ID_URI",
    "TEAMS_APP_ID",
    "TEAMS_APP_VERSION",
    "TEAMS_DEVELOPER_NAME",
    "TEAMS_DEVELOPER_URL",
    "TEAMS_PRIVACY_URL",
    "TEAMS_TERMS_URL",
    "TEAMS_BOT_ENABLED",
)


@dataclass(frozen=True)
class SettingRow:
    name: str
    value: str  # empty when unset; secrets are never shown
    is_set: bool
    is_secret: bool
    problem: str  # what is wrong with it, or empty


def bot_messaging_endpoint() -> str:
    """What the Azure Bot registration calls the messaging endpoint: where Teams posts activities."""
    return f"{settings.SITE_URL}{reverse('teams_app:bot_messages')}"


def redirect_uris() -> list[tuple[str, Promise]]:
    return [
        (f"{settings.SITE_URL}{SIGN_IN_REDIRECT_PATH}", _("Sign-in in the browser")),
        (f"{settings.SITE_URL}{TEAMS_POPUP_REDIRECT_PATH}", _("Consent pop-up inside Teams")),
    ]


def app_roles() -> list[tuple[str, Promise | str]]:
    """The app roles to define, from ENTRA_ROLE_MAP, with what each grants here."""
    return [(role, ROLE_GRANTS.get(grant, grant)) for role, grant in settings.ENTRA_ROLE_MAP.items()]


def setting_rows(problems: list[Problem]) -> list[SettingRow]:
    by_setting = {problem.setting: problem.message for problem in problems}
    rows = []
    for name in SETTINGS:
        value = str(getattr(settings, name, "") or "")
        secret = name in SECRET_SETTINGS
        rows.append(
            SettingRow(
                name=name,
                value="" if secret else value,
                is_set=bool(value),
                is_secret=secret,
                problem=by_setting.get(name, ""),
            )
        )
    return rows
