"""The one module that talks HTTP to Microsoft: Entra ID's token and key endpoints, and Graph.

Every call has a fixed timeout. Failures raise :class:`MicrosoftError`, which says whether trying
again can help (``permanent``) and how long to wait (``retry_after``). Callers in a request make one
attempt; background workers retry with :func:`call_with_retry` or, for notifications, reschedule the
delivery. App-only tokens come from msal (:func:`app_token`), whose HTTP also goes through here.
Tokens are never logged.
"""

import base64
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import msal
import requests
from django.conf import settings
from django.views.decorators.debug import sensitive_variables

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10
MAX_RETRY_AFTER_SECONDS = 120  # the longest a caller that waits in place sleeps
# A Retry-After beyond this is taken as this: a worker reschedules instead of sleeping, but not for days.
MAX_RETRY_AFTER_HONOURED_SECONDS = 24 * 3600
_TRANSIENT_STATUSES = {408, 429, 500, 502, 503, 504}

T = TypeVar("T")


@dataclass
class MicrosoftError(Exception):
    """A failed call. ``status`` is None when no HTTP answer came (timeout, connection refused)."""

    message: str
    status: int | None = None
    code: str = ""
    retry_after: float | None = None

    def __str__(self) -> str:
        where = f"HTTP {self.status}" if self.status else "no answer"
        return f"{self.message} ({where}{', ' + self.code if self.code else ''})"

    @property
    def permanent(self) -> bool:
        """True when repeating the same call cannot succeed (bad request, no permission, unknown user)."""
        return self.status is not None and self.status not in _TRANSIENT_STATUSES


def _retry_after(response: requests.Response) -> float | None:
    """Seconds to wait from a Retry-After header: delay-seconds (what Graph sends) or an HTTP date."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_HONOURED_SECONDS)


def _error_from(response: requests.Response) -> MicrosoftError:
    """Read both error shapes: Entra's {"error": "x", "error_description"} and Graph's {"error": {...}}."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        code, message = str(error.get("code", "")), str(error.get("message", ""))
    else:
        code, message = str(error or ""), str(body.get("error_description", "")) if isinstance(body, dict) else ""
    # Entra's descriptions start with an AADSTS code and are safe to log; keep them short.
    return MicrosoftError(
        message=(message or response.reason or "request failed")[:300],
        status=response.status_code,
        code=code[:100],
        retry_after=_retry_after(response),
    )


def _request(method: str, url: str, **kwargs) -> requests.Response:
    """One HTTP request with the fixed timeout; any answer is returned, no answer raises."""
    try:
        return requests.request(method, url, timeout=TIMEOUT_SECONDS, **kwargs)
    except requests.Timeout:
        raise MicrosoftError("timed out", status=None, code="timeout") from None
    except requests.RequestException as error:
        raise MicrosoftError(f"connection failed: {type(error).__name__}", status=None, code="connection") from None


def _send(method: str, url: str, **kwargs) -> requests.Response:
    response = _request(method, url, **kwargs)
    if response.status_code >= 400:
        raise _error_from(response)
    return response


def get_json(url: str, *, token: str | None = None, params: dict | None = None) -> dict[str, Any]:
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return _send("GET", url, headers=headers, params=params).json()


def post_form(url: str, data: dict[str, str]) -> dict[str, Any]:
    """POST a form (the OAuth token endpoint) and return the JSON answer."""
    return _send("POST", url, data=data, headers={"Accept": "application/json"}).json()


def post_json(url: str, payload: dict[str, Any], *, token: str | None = None) -> requests.Response:
    """POST JSON; without a token for URLs that carry their own signature (Teams Workflows webhooks)."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return _send("POST", url, json=payload, headers=headers)


def graph_me(token: str) -> dict[str, Any]:
    """The signed-in user's profile from Graph; the fields beyond the defaults need $select."""
    fields = (
        "id,displayName,givenName,surname,mail,userPrincipalName,jobTitle,department,officeLocation,preferredLanguage"
    )
    return get_json(f"{settings.GRAPH_URL}/v1.0/me", token=token, params={"$select": fields})


def call_with_retry(call: Callable[[], T], *, attempts: int = 3, sleep: Callable[[float], None] = time.sleep) -> T:
    """Run ``call``; on a transient failure wait (Retry-After, else 1 s, 2 s, ...) and try again."""
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except MicrosoftError as error:
            if error.permanent or attempt == attempts:
                raise
            delay = error.retry_after if error.retry_after is not None else float(2 ** (attempt - 1))
            delay = min(delay, MAX_RETRY_AFTER_SECONDS)
            logger.info("Microsoft call failed (%s); retrying in %.1f s", error, delay)
            sleep(delay)
    raise AssertionError("unreachable")


# --- App-only tokens (msal client credentials) and Teams activity notifications -------------------

GLOBAL_GRAPH_RESOURCE = "https://graph.microsoft.com"


class _MsalResponse:
    """What msal reads of an answer (status_code, text, headers), with the offline fake's http
    addresses shown as https."""

    def __init__(self, response: requests.Response, rewrite: tuple[str, str]) -> None:
        https_base, http_base = rewrite
        self.status_code = response.status_code
        self.headers = response.headers
        self.text = response.text.replace(http_base, https_base)

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise MicrosoftError(f"HTTP error {self.status_code}", status=self.status_code)


class _SeamHttpClient:
    """The HTTP client msal is given: its requests go through :func:`_request` like every other call.

    msal reads every answer itself (its errors come back as dicts), so any status is returned; only
    a missing answer raises :class:`MicrosoftError`. ``rewrite`` = (https base, http base) serves the
    offline fake identity provider (``ENTRA_AUTHORITY_URL``), which speaks plain http while msal
    insists on https addresses: msal sees https, the requests go out as http.
    """

    def __init__(self, rewrite: tuple[str, str] | None = None) -> None:
        self._rewrite = rewrite

    def _call(self, method: str, url: str, **kwargs):
        kwargs.pop("timeout", None)  # ours is fixed
        if self._rewrite is None:
            return _request(method, url, **kwargs)
        https_base, http_base = self._rewrite
        if url.startswith(https_base):
            url = http_base + url[len(https_base) :]
        return _MsalResponse(_request(method, url, **kwargs), self._rewrite)

    def get(self, url, params=None, headers=None, **kwargs):
        return self._call("GET", url, params=params, headers=headers, **kwargs)

    def post(self, url, params=None, data=None, headers=None, **kwargs):
        return self._call("POST", url, params=params, data=data, headers=headers, **kwargs)

    def close(self) -> None:
        pass


_app_client_lock = threading.Lock()
_app_client: tuple[tuple[str, ...], msal.ConfidentialClientApplication] | None = None


def authority() -> str:
    """The tenant's Entra ID address: https://<ENTRA_AUTHORITY_HOST>/<tenant>, or the offline fake's."""
    base = settings.ENTRA_AUTHORITY_URL or f"https://{settings.ENTRA_AUTHORITY_HOST}"
    return f"{base}/{settings.ENTRA_TENANT_ID}"


def _msal_authority() -> tuple[str, _SeamHttpClient, bool]:
    """msal's authority, the HTTP client for it, and whether it is a well-known Microsoft host."""
    url = authority()
    parts = urlsplit(url)
    if parts.scheme == "http":  # the offline fake only (ENTRA_AUTHORITY_URL); msal refuses http
        rewrite = (f"https://{parts.netloc}/", f"http://{parts.netloc}/")
        return f"https://{parts.netloc}{parts.path}", _SeamHttpClient(rewrite), False
    return url, _SeamHttpClient(), parts.hostname in msal.authority.WELL_KNOWN_AUTHORITY_HOSTS


@sensitive_variables("secret")
def _confidential_client() -> msal.ConfidentialClientApplication:
    """One msal application per process (its token cache lives on it), rebuilt when the settings
    change (tests point it at other fakes)."""
    global _app_client
    secret = settings.ENTRA_CLIENT_SECRET
    authority_url, http_client, well_known = _msal_authority()
    key = (settings.ENTRA_CLIENT_ID, authority_url, secret)
    with _app_client_lock:
        if _app_client is not None and _app_client[0] == key:
            return _app_client[1]
        try:
            client = msal.ConfidentialClientApplication(
                settings.ENTRA_CLIENT_ID,
                client_credential=secret,
                authority=authority_url,
                http_client=http_client,
                # Validating a non-Microsoft authority would ask login.microsoftonline.com about it.
                instance_discovery=None if well_known else False,
            )
        except (ValueError, requests.HTTPError) as error:  # the authority's discovery document could not be read
            raise MicrosoftError(str(error)[:300], status=None, code="authority") from None
        _app_client = (key, client)
        return client


def graph_resource() -> str:
    """The Graph that tokens are requested for: GRAPH_URL, or global Graph behind a plain-http fake."""
    return settings.GRAPH_URL if settings.GRAPH_URL.startswith("https://") else GLOBAL_GRAPH_RESOURCE


@sensitive_variables("result")
def app_token() -> str:
    """An app-only Graph token (client credentials), from msal's cache until shortly before it expires.

    Raises MicrosoftError (never permanent: a fixed configuration makes the next try succeed) when
    Entra refuses or cannot be reached.
    """
    if not (settings.ENTRA_CLIENT_ID and settings.ENTRA_CLIENT_SECRET and settings.ENTRA_TENANT_ID):
        raise MicrosoftError("Microsoft sign-in is not configured", status=None, code="not_configured")
    result = _confidential_client().acquire_token_for_client(scopes=[f"{graph_resource()}/.default"])
    if "access_token" in result:
        return result["access_token"]
    # Entra's descriptions start with an AADSTS code and hold no secret; keep them short.
    description = str(result.get("error_description") or "token request failed").split("\r\n")[0]
    raise MicrosoftError(description[:300], status=None, code=str(result.get("error", ""))[:100])


def send_activity_notification(user_oid: str, payload: dict[str, Any], *, token: str) -> None:
    """POST /users/{oid}/teamwork/sendActivityNotification; Graph answers 204 without a body."""
    url = f"{settings.GRAPH_URL}/v1.0/users/{quote(user_oid, safe='')}/teamwork/sendActivityNotification"
    post_json(url, payload, token=token)


# --- Mailboxes (Mail.Send, Mail.ReadWrite; restricted to the help-desk mailbox by Exchange RBAC) -----

# Graph's ids change when a message moves between folders, unless immutable ids are asked for: the
# mail intake keys its records on them and moves every message it has read.
_IMMUTABLE_IDS = {"Prefer": 'IdType="ImmutableId"'}


def _mailbox_url(mailbox: str, path: str = "") -> str:
    return f"{settings.GRAPH_URL}/v1.0/users/{quote(mailbox, safe='@')}{path}"


def send_mime(mailbox: str, mime: bytes, *, token: str) -> None:
    """POST /users/{mailbox}/sendMail with the message in MIME (base64 text): Exchange keeps its headers
    (Message-ID, Auto-Submitted, In-Reply-To), its HTML and text alternatives and its attachments.
    Graph answers 202 without a body; it refuses requests over 4 MB (a permanent 413/400)."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "text/plain"}
    _send("POST", _mailbox_url(mailbox, "/sendMail"), data=base64.b64encode(mime), headers=headers)


def _get(url: str, *, token: str, params: dict | None = None) -> dict[str, Any]:
    headers = {"Accept": "application/json", "Authorization": f"Bearer {token}", **_IMMUTABLE_IDS}
    return _send("GET", url, headers=headers, params=params).json()


def inbox_delta_url(mailbox: str) -> str:
    """Where a first delta query of the inbox starts; later ones continue from the stored deltaLink."""
    return _mailbox_url(mailbox, "/mailFolders/inbox/messages/delta")


def inbox_delta_page(url: str, *, token: str) -> dict[str, Any]:
    """One page of a delta query: ``value``, then ``@odata.nextLink`` (more) or ``@odata.deltaLink``
    (done; the start of the next round). Only ids are selected: each message is read on its own."""
    # The links Graph hands back carry their own query (with the $select of the first request).
    params = None if "?" in url else {"$select": "id"}
    return _get(url, token=token, params=params)


MESSAGE_FIELDS = (
    "id,internetMessageId,subject,from,sender,toRecipients,receivedDateTime,body,hasAttachments,internetMessageHeaders"
)


def mailbox_message(mailbox: str, message_id: str, *, token: str) -> dict[str, Any]:
    """One message with its body and Internet headers (those need $select)."""
    url = _mailbox_url(mailbox, f"/messages/{quote(message_id, safe='')}")
    return _get(url, token=token, params={"$select": MESSAGE_FIELDS})


def mailbox_attachments(mailbox: str, message_id: str, *, token: str) -> list[dict[str, Any]]:
    """The message's attachments; file attachments carry ``contentBytes`` (base64)."""
    url = _mailbox_url(mailbox, f"/messages/{quote(message_id, safe='')}/attachments")
    return _get(url, token=token).get("value", [])


def mailbox_folder_id(mailbox: str, name: str, *, token: str) -> str:
    """The id of the top-level folder ``name``, created when it does not exist yet."""
    escaped = name.replace("'", "''")
    found = _get(
        _mailbox_url(mailbox, "/mailFolders"), token=token, params={"$filter": f"displayName eq '{escaped}'"}
    ).get("value", [])
    if found:
        return found[0]["id"]
    response = post_json(_mailbox_url(mailbox, "/mailFolders"), {"displayName": name}, token=token)
    return response.json()["id"]


def mailbox_move(mailbox: str, message_id: str, folder_id: str, *, token: str) -> None:
    url = _mailbox_url(mailbox, f"/messages/{quote(message_id, safe='')}/move")
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}", **_IMMUTABLE_IDS}
    _send("POST", url, json={"destinationId": folder_id}, headers=headers)


# --- The Bot Connector (Teams chat): app tokens from our tenant, and posts to the serviceUrl -------

BOT_FRAMEWORK_SCOPE = "https://api.botframework.com/.default"


@sensitive_variables("result")
def bot_token() -> str:
    """A token for the Bot Connector, from OUR tenant (a single-tenant Azure Bot), cached by msal.

    Raises MicrosoftError (never permanent, as for :func:`app_token`) when Entra refuses or cannot
    be reached.
    """
    if not (settings.ENTRA_CLIENT_ID and settings.ENTRA_CLIENT_SECRET and settings.ENTRA_TENANT_ID):
        raise MicrosoftError("Microsoft sign-in is not configured", status=None, code="not_configured")
    result = _confidential_client().acquire_token_for_client(scopes=[BOT_FRAMEWORK_SCOPE])
    if "access_token" in result:
        return result["access_token"]
    description = str(result.get("error_description") or "token request failed").split("\r\n")[0]
    raise MicrosoftError(description[:300], status=None, code=str(result.get("error", ""))[:100])


def _conversation_url(service_url: str, conversation_id: str) -> str:
    # The serviceUrl comes from a signed activity (its token's serviceUrl claim); the ids are quoted.
    return f"{service_url.rstrip('/')}/v3/conversations/{quote(conversation_id, safe='')}/activities"


def bot_send(service_url: str, conversation_id: str, activity: dict[str, Any], *, token: str) -> dict[str, Any]:
    """Post a new message into a conversation; returns the Connector's answer ({"id": ...})."""
    response = post_json(_conversation_url(service_url, conversation_id), activity, token=token)
    try:
        return response.json() if response.content else {}
    except ValueError:
        return {}


def bot_update(
    service_url: str, conversation_id: str, activity_id: str, activity: dict[str, Any], *, token: str
) -> None:
    """Replace a message the bot posted earlier (a card updated in place)."""
    url = f"{_conversation_url(service_url, conversation_id)}/{quote(activity_id, safe='')}"
    _send("PUT", url, json=activity, headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})


def download(url: str, *, token: str, max_bytes: int) -> tuple[bytes, str]:
    """GET a file Teams hands over (an image of a message) with a bearer token; returns its bytes and
    content type. Redirects are not followed (the caller checked the host), and an answer longer than
    ``max_bytes`` is cut off with a permanent error."""
    response = _request("GET", url, headers={"Authorization": f"Bearer {token}"}, stream=True, allow_redirects=False)
    try:
        if response.status_code >= 400:
            raise _error_from(response)
        if response.status_code >= 300:
            raise MicrosoftError("redirects are not followed", status=response.status_code, code="redirect")
        content = bytearray()
        for chunk in response.iter_content(64 * 1024):
            content += chunk
            if len(content) > max_bytes:
                raise MicrosoftError("the file is too large", status=413, code="too_large")
        return bytes(content), response.headers.get("Content-Type", "").split(";")[0].strip()
    finally:
        response.close()


# --- Installing the Teams app for people (TeamsAppInstallation.ReadWriteForUser.All) ---------------


def teams_app_catalog_id(external_id: str, *, token: str) -> str | None:
    """The id of our app in the tenant's app catalog (not the manifest id), or None before upload."""
    external_id = str(uuid.UUID(external_id))  # a GUID only, never other text inside the $filter
    url = f"{settings.GRAPH_URL}/v1.0/appCatalogs/teamsApps"
    apps = get_json(url, token=token, params={"$filter": f"externalId eq '{external_id}'"}).get("value") or []
    return str(apps[0]["id"]) if apps and isinstance(apps[0], dict) and apps[0].get("id") else None


def install_teams_app(user_oid: str, catalog_id: str, *, token: str) -> bool:
    """Install our app for one person; False when it was installed already (Graph answers 409)."""
    url = f"{settings.GRAPH_URL}/v1.0/users/{quote(user_oid, safe='')}/teamwork/installedApps"
    app = f"{settings.GRAPH_URL}/v1.0/appCatalogs/teamsApps/{quote(catalog_id, safe='')}"
    try:
        post_json(url, {"teamsApp@odata.bind": app}, token=token)
    except MicrosoftError as error:
        if error.status == 409:
            return False
        raise
    return True
