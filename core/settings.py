"""Settings for TinyTeamsTicket: one file, read from the environment, with embedded defaults.

Without any environment variable the app runs for a developer: SQLite, local-memory cache, console
e-mail and DEBUG on only when ``DEBUG=1`` is set. Every variable is documented in the README's
"Configuration" section in the order it is read here.
"""

import os
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str:
    """Return the variable, or the default; with no default a missing variable is fatal."""
    value = os.environ.get(name)
    if value is not None:
        return value
    if default is None:
        raise ImproperlyConfigured(f"The environment variable {name} must be set.")
    return default


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    if value.strip().lower() in _TRUE:
        return True
    if value.strip().lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be one of 1/0, true/false, yes/no, on/off; got {value!r}.")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number; got {value!r}.") from None


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


# --- Core -----------------------------------------------------------------------------------------

DEBUG = env_bool("DEBUG", False)

# A development key is only acceptable while DEBUG is on; production must bring its own.
SECRET_KEY = env_str("SECRET_KEY", "django-insecure-development-only-key" if DEBUG else None)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

# True when nginx (or another reverse proxy) forwards the requests and sets X-Forwarded-* headers.
BEHIND_PROXY = env_bool("BEHIND_PROXY", False)

# Public https address of the site, used in links that leave the request (e-mail, Teams).
SITE_URL = env_str("SITE_URL", "http://localhost:8000").rstrip("/")

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions take SQLite's write lock up front, so concurrent writers queue up
    # instead of failing with "database is locked" halfway through a transaction.
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # No parallel query plans: requests run side by side, and a query that spreads over several
    # cores takes them from the other requests. At 1,000,000 tickets PostgreSQL chose a parallel
    # plan for an employee's dashboard history, which then ran at a fifth of the throughput of
    # its plain plan under load (bench/README.md, session 5). DATABASE_PARALLEL_WORKERS allows it.
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _parallel = env_int("DATABASE_PARALLEL_WORKERS", 0)
    _options["options"] = f"{_options.get('options', '')} -c max_parallel_workers_per_gather={_parallel}".strip()

_redis_url = env_str("REDIS_URL", "")
# The cache holds sessions (read through it softly: core/sessions.py); short timeouts keep a Redis that
# does not answer from holding up each page for redis-py's default of seconds per call.
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _redis_url,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
        if _redis_url
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# --- Applications -------------------------------------------------------------------------------

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.forms",
    "django.contrib.humanize",
    "mptt",
    "axes",
    "csp",
    "social_django",
    "huey.contrib.djhuey",
    # django-background-tasks (app label background_task), with the id type of its own migrations.
    "teams_app.background_app.BackgroundTasksConfig",
    "core",
    "accounts",
    "teams_app",
    "tickets",
]
# The developer tools (devtools/: quickstart and its demo data, the data generator, the fake Entra ID
# and Graph, the benchmark's instruments) are an app of their own that production never installs. On
# with DEBUG; the test configuration (pyproject.toml) and bench/settings.py turn it on explicitly.
DEVTOOLS = env_bool("DEVTOOLS", DEBUG)
if DEVTOOLS:
    INSTALLED_APPS.append("devtools")

MIDDLEWARE = [
    "teams_app.middleware.TeamsPrefixMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.UserPreferencesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "teams_app.middleware.TeamsFramingMiddleware",
    "axes.middleware.AxesMiddleware",
    "accounts.entra.EntraErrorMiddleware",
]

ROOT_URLCONF = "core.urls"
WSGI_APPLICATION = "core.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "core.context_processors.ui",
            ],
        },
    },
]

FORM_RENDERER = "core.forms.BootstrapFormRenderer"

# --- Accounts and sign-in ------------------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.ModelBackend",  # Django's, loading the user's role with the user
    # Sessions signed in before the line above stay valid (they name this backend); new ones use ours.
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Failed logins are throttled per account name and, separately, per client address.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("LOGIN_COOLOFF_MINUTES", 15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
# A success forgives only that account's failures from that address (accounts.throttling).
AXES_RESET_ON_SUCCESS = True
AXES_HANDLER = "accounts.throttling.AxesHandler"
AXES_VERBOSE = False
# Behind nginx the client address is the one nginx appends to X-Forwarded-For (one trusted hop);
# without a proxy that header is the client's own claim and is ignored.
AXES_CLIENT_IP_CALLABLE = "accounts.throttling.client_address"
# Only password sign-ins are throttled; Microsoft's are never locked out by others' failures.
AXES_WHITELIST_CALLABLE = "accounts.throttling.is_microsoft_sign_in"

# --- Microsoft Entra ID single sign-on -----------------------------------------------------------

ENTRA_TENANT_ID = env_str("ENTRA_TENANT_ID", "")
ENTRA_CLIENT_ID = env_str("ENTRA_CLIENT_ID", "")
ENTRA_CLIENT_SECRET = env_str("ENTRA_CLIENT_SECRET", "")
ENTRA_AUTHORITY_HOST = env_str("ENTRA_AUTHORITY_HOST", "login.microsoftonline.com")
# Only for the offline fake identity provider (`manage.py fake_entra`): its plain-http base URL.
ENTRA_AUTHORITY_URL = env_str("ENTRA_AUTHORITY_URL", "").rstrip("/")
GRAPH_URL = env_str("GRAPH_URL", "https://graph.microsoft.com").rstrip("/")
# App roles in the token and what they grant here: "agent" (IT staff group) or "admin" (superuser).
ENTRA_ROLE_MAP = dict(
    item.split("=", 1) for item in env_list("ENTRA_ROLE_MAP", "Tickets.Agent=agent,Tickets.Admin=admin") if "=" in item
)
ENTRA_SIGN_OUT_OF_MICROSOFT = env_bool("ENTRA_SIGN_OUT_OF_MICROSOFT", False)
# The Application ID URI that Teams requests tokens for: api://<the tab's domain>/<client id>, where the
# domain is SITE_URL's host with its port, if it has one, exactly as in the package's validDomains.
_site = urlsplit(SITE_URL)
_site_domain = f"{_site.hostname}:{_site.port}" if _site.port else f"{_site.hostname}"
ENTRA_APP_ID_URI = env_str("ENTRA_APP_ID_URI", f"api://{_site_domain}/{ENTRA_CLIENT_ID}")
# Fernet key (urlsafe base64, 32 bytes) for the Microsoft tokens stored per user; required with SSO
# in production. `python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`
TOKEN_ENCRYPTION_KEY = env_str("TOKEN_ENCRYPTION_KEY", "")

_entra = {
    "ENTRA_TENANT_ID": ENTRA_TENANT_ID,
    "ENTRA_CLIENT_ID": ENTRA_CLIENT_ID,
    "ENTRA_CLIENT_SECRET": ENTRA_CLIENT_SECRET,
}
ENTRA_ENABLED = all(_entra.values())
if any(_entra.values()) and not ENTRA_ENABLED:
    _missing = ", ".join(name for name, value in _entra.items() if not value)
    raise ImproperlyConfigured(
        f"Microsoft sign-in is half configured: set {_missing} as well, or none of the ENTRA_ variables."
    )
if ENTRA_ENABLED:
    try:
        uuid.UUID(ENTRA_TENANT_ID)
    except ValueError:
        raise ImproperlyConfigured(
            "ENTRA_TENANT_ID must be the tenant's GUID (directory ID), not a domain name."
        ) from None
    if not TOKEN_ENCRYPTION_KEY and not DEBUG:
        raise ImproperlyConfigured("TOKEN_ENCRYPTION_KEY must be set when Microsoft sign-in is configured.")
    AUTHENTICATION_BACKENDS.append("accounts.entra.EntraIDBackend")


def entra_social_settings(
    *, tenant_id: str, client_id: str, client_secret: str, authority_host: str, authority_url: str = ""
) -> dict[str, object]:
    """social-auth's settings for the Entra backend, from the ENTRA_ values (also used by the tests)."""
    prefix = "SOCIAL_AUTH_AZUREAD_V2_TENANT_OAUTH2_"
    social: dict[str, object] = {
        f"{prefix}KEY": client_id,
        f"{prefix}SECRET": client_secret,
        f"{prefix}TENANT_ID": tenant_id,
        f"{prefix}AUTHORITY_HOST": authority_host,
        # The default is only "openid profile offline_access"; Graph /me and the email claim need these.
        f"{prefix}SCOPE": ["User.Read", "email"],
        # PKCE binds the authorization code to this browser session; social-core leaves it off.
        f"{prefix}USE_PKCE": True,
    }
    if authority_url:  # the offline fake: plain http, which social-auth's AUTHORITY_URL refuses
        base = f"{authority_url.rstrip('/')}/{tenant_id}"
        social.update(
            {
                f"{prefix}AUTHORIZATION_URL": f"{base}/oauth2/v2.0/authorize",
                f"{prefix}ACCESS_TOKEN_URL": f"{base}/oauth2/v2.0/token",
                f"{prefix}OPENID_CONFIGURATION_URL": f"{base}/v2.0/.well-known/openid-configuration",
                f"{prefix}JWKS_URI": f"{base}/discovery/v2.0/keys",
            }
        )
    return social


globals().update(
    entra_social_settings(
        tenant_id=ENTRA_TENANT_ID,
        client_id=ENTRA_CLIENT_ID,
        client_secret=ENTRA_CLIENT_SECRET,
        authority_host=ENTRA_AUTHORITY_HOST,
        authority_url=ENTRA_AUTHORITY_URL,
    )
)
SOCIAL_AUTH_URL_NAMESPACE = "social"
SOCIAL_AUTH_PIPELINE = [
    "social_core.pipeline.social_auth.social_details",
    "social_core.pipeline.social_auth.social_uid",
    "social_core.pipeline.social_auth.auth_allowed",
    "social_core.pipeline.social_auth.social_user",
    "accounts.entra.refuse_inactive_user",
    "social_core.pipeline.user.get_username",
    "social_core.pipeline.user.create_user",
    "social_core.pipeline.social_auth.associate_user",
    # Never social_core's associate_by_email: an e-mail address must not take over an account.
    "accounts.entra.store_tokens",
    "accounts.entra.update_profile",
    "accounts.entra.sync_roles",
]
SOCIAL_AUTH_USER_FIELDS = ["username", "email", "first_name", "last_name"]
SOCIAL_AUTH_CLEAN_USERNAMES = True
SOCIAL_AUTH_LOGIN_REDIRECT_URL = "/"

# --- Microsoft Teams app -------------------------------------------------------------------------

# The package an admin uploads in the Teams admin center (`manage.py teams_package`, /teams/setup/) is
# built from these and from SITE_URL and ENTRA_CLIENT_ID; teams_app.manifest names whatever is missing.
# The app id is a GUID chosen once and kept: Teams tells apps apart by it, so a new id is a new app.
TEAMS_APP_ID = env_str("TEAMS_APP_ID", "")
# Teams only accepts an updated package with a higher version: raise it after changing any of these.
TEAMS_APP_VERSION = env_str("TEAMS_APP_VERSION", "1.0.0")
TEAMS_DEVELOPER_NAME = env_str("TEAMS_DEVELOPER_NAME", "TinyTeamsTicket")
# The app's details page in Teams links to these. The site itself is where people get help; the
# privacy statement and terms of use are the organisation's own, so they have no default.
TEAMS_DEVELOPER_URL = env_str("TEAMS_DEVELOPER_URL", f"{SITE_URL}/")
TEAMS_PRIVACY_URL = env_str("TEAMS_PRIVACY_URL", "")
TEAMS_TERMS_URL = env_str("TEAMS_TERMS_URL", "")
# The bot (chat cards, card actions, the "Create ticket" message action). It is a single-tenant Azure
# Bot on the Entra app registration above (ENTRA_CLIENT_ID is its Microsoft App ID, ENTRA_TENANT_ID
# its tenant); off until an admin has registered it (see the README's Teams section).
TEAMS_BOT_ENABLED = env_bool("TEAMS_BOT_ENABLED", False)
# Where the Bot Connector's signing keys are published; only tests and national clouds change it.
_BOT_FRAMEWORK_METADATA = "https://login.botframework.com/v1/.well-known/openidconfiguration"
TEAMS_BOT_OPENID_METADATA_URL = env_str("TEAMS_BOT_OPENID_METADATA_URL", _BOT_FRAMEWORK_METADATA)
# On when the application permission TeamsAppInstallation.ReadWriteForUser.All is granted: the
# scheduler installs the app for everyone who signs in with Microsoft (teams_app.installation).
TEAMS_BOT_INSTALL_FOR_EVERYONE = env_bool("TEAMS_BOT_INSTALL_FOR_EVERYONE", False)

# --- Internationalisation ------------------------------------------------------------------------

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("de", _("German"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Europe/Berlin")
USE_I18N = True
USE_TZ = True

# --- Static files and attachments ----------------------------------------------------------------

# Absolute, so that pages served under the Teams tab's /teams/app/ prefix share the same files.
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"
        )
    },
}

# Attachments live outside any public URL; only tickets.views.attachment_download serves them.
ATTACHMENT_ROOT = Path(env_str("ATTACHMENT_ROOT", str(BASE_DIR / "var" / "attachments")))
ATTACHMENT_MAX_BYTES = env_int("ATTACHMENT_MAX_MB", 10) * 1024 * 1024
ATTACHMENT_MAX_FILES = env_int("ATTACHMENT_MAX_FILES", 5)
# Behind nginx: the view checks permission, then hands the file to nginx with an X-Accel-Redirect to
# this internal location (nginx/tinyteamsticket.conf). Empty: Django sends the file itself.
ATTACHMENT_X_ACCEL_PREFIX = env_str("ATTACHMENT_X_ACCEL_PREFIX", "")
# Django refuses larger request bodies before a view runs; leave room for the form fields.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- Ticket rules --------------------------------------------------------------------------------

TICKET_REOPEN_DAYS = env_int("TICKET_REOPEN_DAYS", 14)
# How long the signed "Did this solve your problem?" link in a notification may be used (tickets.ratings).
TICKET_RATING_LINK_DAYS = env_int("TICKET_RATING_LINK_DAYS", 30)
IT_STAFF_GROUP = env_str("IT_STAFF_GROUP", "IT staff")

# --- Notifications -------------------------------------------------------------------------------

# A Teams Workflows webhook ("post to a channel when a webhook request is received"): every new
# ticket is posted there as a card. Empty: off. The URL carries its own signature; keep it secret.
TEAMS_WEBHOOK_URL = env_str("TEAMS_WEBHOOK_URL", "")
# Delivery attempts per notification before it is dead (then `manage.py retry_notifications`).
NOTIFICATION_MAX_ATTEMPTS = env_int("NOTIFICATION_MAX_ATTEMPTS", 8)
# After a failed attempt wait this many seconds, doubling each time up to the maximum; a 429's
# Retry-After wins.
NOTIFICATION_BACKOFF_SECONDS = env_int("NOTIFICATION_BACKOFF_SECONDS", 30)
NOTIFICATION_BACKOFF_MAX_SECONDS = env_int("NOTIFICATION_BACKOFF_MAX_SECONDS", 3600)
# Throttling (429) uses up no attempt: a throttled notification is retried when Retry-After allows
# until it is this many hours old, then given up (a Teams notification goes out by e-mail).
NOTIFICATION_THROTTLE_HOURS = env_int("NOTIFICATION_THROTTLE_HOURS", 24)
# SMTP calls wait at most this many seconds (Django's default waits for ever, and the worker with it).
EMAIL_TIMEOUT = 30

# --- Background jobs -----------------------------------------------------------------------------

# Scheduled jobs (tickets/scheduled.py) run in exactly one huey consumer (`manage.py run_huey`): on Redis
# when REDIS_URL is set, else in the SQLite file var/huey.sqlite3 (development, `make run`).
# Periodic tasks are evaluated in TIME_ZONE (Django sets the process's TZ to it).
HUEY = {
    "name": "tinyteamsticket",
    "immediate": False,
    "utc": False,
    "consumer": {"workers": 1, "worker_type": "thread", "periodic": True},
}
if _redis_url:
    HUEY |= {"huey_class": "huey.RedisHuey", "connection": {"url": _redis_url}}
else:
    (BASE_DIR / "var").mkdir(exist_ok=True)  # SqliteHuey creates its file when the app loads
    HUEY |= {"huey_class": "huey.SqliteHuey", "filename": str(BASE_DIR / "var" / "huey.sqlite3")}
# Local hour (0-23) from which overdue tickets are reminded of, once per day and ticket.
OVERDUE_REMINDER_HOUR = env_int("OVERDUE_REMINDER_HOUR", 8)
# A ticket waiting for its requester this many days gets a reminder to the requester ...
WAITING_REMINDER_DAYS = env_int("WAITING_REMINDER_DAYS", 3)
# ... and after this many days it is resolved with a public comment that says why.
WAITING_AUTO_RESOLVE_DAYS = env_int("WAITING_AUTO_RESOLVE_DAYS", 7)
# A resolved ticket that nobody reopened is closed after this many days.
RESOLVED_AUTO_CLOSE_DAYS = env_int("RESOLVED_AUTO_CLOSE_DAYS", 7)
# Local hour from which IT staff get the daily digest (new, unassigned and overdue tickets).
DIGEST_HOUR = env_int("DIGEST_HOUR", 7)
# Finished background-task rows, delivered notifications and job records older than this are deleted.
PRUNE_AFTER_DAYS = env_int("PRUNE_AFTER_DAYS", 30)
if not 0 < WAITING_REMINDER_DAYS < WAITING_AUTO_RESOLVE_DAYS:
    raise ImproperlyConfigured("WAITING_REMINDER_DAYS must be at least 1 and less than WAITING_AUTO_RESOLVE_DAYS.")
# /healthz answers 503 when the worker's or the scheduler's heartbeat is older than this (seconds) ...
HEALTH_HEARTBEAT_MAX_AGE = env_int("HEALTH_HEARTBEAT_MAX_AGE", 300)
# ... or when a notification has been due, or "sending", for longer than this (seconds): the outbox is stuck.
HEALTH_OUTBOX_MAX_AGE = env_int("HEALTH_OUTBOX_MAX_AGE", 900)
# ... unless this is off: the default in development, where `runserver` alone has no worker.
HEALTH_REQUIRE_WORKERS = env_bool("HEALTH_REQUIRE_WORKERS", not DEBUG)

# --- E-mail --------------------------------------------------------------------------------------

EMAIL_URL = env_str("EMAIL_URL", "console:")
EMAIL_GRAPH_MAILBOX = ""
if EMAIL_URL.startswith("smtp"):
    from urllib.parse import unquote, urlparse

    _mail = urlparse(EMAIL_URL)
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = _mail.hostname or "localhost"
    EMAIL_PORT = _mail.port or 587
    EMAIL_HOST_USER = unquote(_mail.username or "")
    EMAIL_HOST_PASSWORD = unquote(_mail.password or "")
    EMAIL_USE_TLS = _mail.scheme == "smtp+tls"
    EMAIL_USE_SSL = _mail.scheme == "smtps"
elif EMAIL_URL.startswith("graph://"):
    # Microsoft Graph sendMail as this mailbox, with the app-only token of ENTRA_CLIENT_ID (Mail.Send).
    EMAIL_BACKEND = "core.graph_mail.GraphEmailBackend"
    EMAIL_GRAPH_MAILBOX = EMAIL_URL.removeprefix("graph://").strip("/")
    if EMAIL_GRAPH_MAILBOX.count("@") != 1 or "/" in EMAIL_GRAPH_MAILBOX:
        raise ImproperlyConfigured("EMAIL_URL=graph:// needs the mailbox's address, e.g. graph://it@contoso.com")
elif EMAIL_URL == "console:":
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
else:
    raise ImproperlyConfigured(
        "EMAIL_URL must be console:, graph://mailbox@domain or smtp://, smtp+tls://, smtps://user:pass@host:port"
    )
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", f"TinyTeamsTicket <{EMAIL_GRAPH_MAILBOX or 'tickets@localhost'}>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The help-desk mailbox whose inbox becomes tickets (tickets/mail_intake.py, read through Graph with
# Mail.ReadWrite every minute by the huey consumer). Empty: off.
MAIL_INTAKE_MAILBOX = env_str("MAIL_INTAKE_MAILBOX", "")
# The top-level folder processed messages are moved to (created when missing); nothing is deleted.
MAIL_INTAKE_FOLDER = env_str("MAIL_INTAKE_FOLDER", "Processed by TinyTeamsTicket")
# The English name of the problem source that tickets by e-mail are filed under.
MAIL_INTAKE_PROBLEM_SOURCE = env_str("MAIL_INTAKE_PROBLEM_SOURCE", "Other / not sure")
# A sender without an account here: "refuse" (a polite reply) or "create" (a local account without password).
MAIL_INTAKE_UNKNOWN_SENDERS = env_str("MAIL_INTAKE_UNKNOWN_SENDERS", "refuse")
if MAIL_INTAKE_UNKNOWN_SENDERS not in {"refuse", "create"}:
    raise ImproperlyConfigured("MAIL_INTAKE_UNKNOWN_SENDERS must be refuse or create.")
# A message whose processing failed this often is given up ("poison", shown in the admin).
MAIL_INTAKE_MAX_ATTEMPTS = env_int("MAIL_INTAKE_MAX_ATTEMPTS", 5)
# All attachments of one message together; each file also obeys ATTACHMENT_MAX_MB.
MAIL_INTAKE_MAX_MB = env_int("MAIL_INTAKE_MAX_MB", 25)

# --- Security headers and cookies ----------------------------------------------------------------

# Production runs behind TLS; a local production smoke test over http turns this off explicitly.
HTTPS = env_bool("HTTPS", not DEBUG)
SOCIAL_AUTH_REDIRECT_IS_HTTPS = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SESSION_COOKIE_HTTPONLY = True
# Inside the Teams tab the site is a third-party frame: its cookies must be SameSite=None (and so
# Secure). Without https (development) browsers refuse that, and Lax is what works.
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "None" if HTTPS else "Lax"
SECURE_SSL_REDIRECT = HTTPS and env_bool("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
# Preloading is a decision for the customer's whole domain, not for one app on it.
SECURE_HSTS_PRELOAD = False
SILENCED_SYSTEM_CHECKS = ["security.W021"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The analysis's covering index (tickets.Ticket.Meta) includes columns on PostgreSQL only; on
    # SQLite (development) it is a plain index, as intended.
    SILENCED_SYSTEM_CHECKS.append("models.W040")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 14 * 24 * 3600)
# Sessions live in the database; with Redis shared by all workers they are read from the cache as
# well (one query less per request), failing softly to the database when Redis does not answer
# (core/sessions.py). Never with the per-process memory cache: a sign-out in one worker would leave
# the session alive in the cache of another.
SESSION_ENGINE = "core.sessions" if _redis_url else "django.contrib.sessions.backends.db"

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        # Django admin and the tree admin set inline style attributes; scripts stay strict.
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:", "blob:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        # The "Log in with Microsoft" form redirects to the identity provider; browsers apply
        # form-action to that redirect too.
        "form-action": [SELF, ENTRA_AUTHORITY_URL or f"https://{ENTRA_AUTHORITY_HOST}"] if ENTRA_ENABLED else [SELF],
        "frame-ancestors": [NONE],
    }
}

# --- Logging -------------------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        "django.utils.autoreload": {"level": "WARNING"},
        # The huey consumer logs through a handler of its own; without this every line shows twice.
        "huey": {"propagate": False},
    },
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
