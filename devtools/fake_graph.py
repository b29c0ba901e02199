"""A fake Microsoft Graph ``sendActivityNotification`` and a fake Teams Workflows webhook, served over
real local HTTP, for the notification tests and the production smoke test (devtools/smoke_fakes.py).

It checks what Graph checks where a client could notice: an app-only bearer token signed by the
fake Entra ID (``devtools.fake_entra``) for Graph, with ``TeamsActivity.Send``; the body's shape
(an unknown property is a 400, like Graph's); a declared activity type with every template parameter
filled; a known user (404) who has the app installed (403). Tests script the next answers::

    with FakeGraph(jwks_url=..., issuers=..., tenant_id=..., client_id=...) as graph:
        oid = graph.add_user()
        graph.script(Scripted(429, retry_after=7), Scripted(503), Scripted(hang=2.0))
        ...                           # inspect graph.requests afterwards
"""

from __future__ import annotations

import json
import logging
import re
import string
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

import jwt
import requests

from devtools.local_server import LocalHTTPServer
from teams_app import activity_types

logger = logging.getLogger(__name__)

GRAPH_AUDIENCES = ("https://graph.microsoft.com", "00000003-0000-0000-c000-000000000000")
ACTIVITY_PATH = re.compile(r"^/v1\.0/users/([^/]+)/teamwork/sendActivityNotification$")
INSTALLED_APPS_PATH = re.compile(r"^/v1\.0/users/([^/]+)/teamwork/installedApps$")
CATALOG_PATH = "/v1.0/appCatalogs/teamsApps"
INSTALL_ROLE = "TeamsAppInstallation.ReadWriteForUser.All"
CATALOG_ROLE = "AppCatalog.Read.All"
WEBHOOK_PATH = "/workflows/triggers/manual/paths/invoke"
WEBHOOK_SIGNATURE = "fake-webhook-signature"
# The body properties of sendActivityNotification (user scope) in Graph v1.0.
ACTIVITY_PROPERTIES = {"topic", "activityType", "chainId", "previewText", "templateParameters", "teamsAppId", "iconId"}
PREVIEW_MAX = 150


@dataclass(frozen=True)
class Scripted:
    """One scripted answer: a status (with Retry-After), or ``hang`` seconds of silence first."""

    status: int = 204
    retry_after: int | None = None
    hang: float = 0.0
    code: str = ""


@dataclass(frozen=True)
class GraphRequest:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers.items() if key.lower() == name.lower()), None)


@dataclass
class _Answer:
    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


class _GraphError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


_STATUS_CODES = {
    400: "BadRequest",
    401: "InvalidAuthenticationToken",
    403: "Forbidden",
    404: "NotFound",
    429: "TooManyRequests",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}


class FakeGraph(LocalHTTPServer):
    def __init__(
        self, *, jwks_url: str, issuers: tuple[str, ...], tenant_id: str, client_id: str, host: str = "127.0.0.1"
    ) -> None:
        self.jwks_url = jwks_url
        self.issuers = issuers
        self.tenant_id = tenant_id
        self.client_id = client_id
        super().__init__(host=host)
        self.requests: list[GraphRequest] = []
        self._installed: dict[str, bool] = {}
        # The tenant's app catalog: manifest id (externalId) → catalog id.
        self.catalog: dict[str, str] = {}
        self._script: deque[Scripted] = deque()
        self._lock = threading.Lock()

    # --- Lifecycle ---

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        return _Handler

    @property
    def webhook_url(self) -> str:
        return f"{self.url}{WEBHOOK_PATH}?api-version=1&sig={WEBHOOK_SIGNATURE}"

    # --- Knobs ---

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self._script.clear()
            self._installed.clear()
            self.catalog.clear()

    def installed(self, oid: str) -> bool:
        return self._installed.get(oid, False)

    def add_user(self, oid: str | None = None, *, installed: bool = True) -> str:
        """A user of the tenant; ``installed`` False: the Teams app is not installed for them."""
        oid = oid or str(uuid.uuid4())
        self._installed[oid] = installed
        return oid

    def script(self, *answers: Scripted) -> None:
        with self._lock:
            self._script.extend(answers)

    @property
    def activity_requests(self) -> list[GraphRequest]:
        return [request for request in self.requests if ACTIVITY_PATH.match(request.path)]

    @property
    def webhook_requests(self) -> list[GraphRequest]:
        return [request for request in self.requests if request.path == WEBHOOK_PATH]

    # --- Handling (server threads) ---

    def _handle(self, request: GraphRequest) -> _Answer:
        with self._lock:
            self.requests.append(request)
            scripted = self._script.popleft() if self._script else None
        try:
            if scripted is not None:
                if scripted.hang:
                    time.sleep(scripted.hang)
                if scripted.status >= 400:
                    headers = {"Retry-After": str(scripted.retry_after)} if scripted.retry_after is not None else {}
                    code = scripted.code or _STATUS_CODES.get(scripted.status, "Error")
                    raise _GraphError(scripted.status, code, f"Scripted {scripted.status}.", headers)
            if request.path == WEBHOOK_PATH and request.method == "POST":
                return self._webhook(request)
            match = ACTIVITY_PATH.match(request.path)
            if match and request.method == "POST":
                return self._send_activity_notification(request, match.group(1))
            if request.path == CATALOG_PATH and request.method == "GET":
                return self._catalog(request)
            match = INSTALLED_APPS_PATH.match(request.path)
            if match and request.method == "POST":
                return self._install_app(request, match.group(1))
            return self._route(request)
        except _GraphError as error:
            body = {
                "error": {
                    "code": error.code,
                    "message": error.message,
                    "innerError": {"date": time.strftime("%Y-%m-%dT%H:%M:%S"), "request-id": str(uuid.uuid4())},
                }
            }
            return _Answer(error.status, body, error.headers)

    def _route(self, request: GraphRequest) -> _Answer:
        """Endpoints beyond the Teams ones (subclasses: devtools.fake_mail)."""
        raise _GraphError(404, "UnknownError", f"No endpoint at {request.path}.")

    def _webhook(self, request: GraphRequest) -> _Answer:
        if f"sig={WEBHOOK_SIGNATURE}" not in request.query:
            raise _GraphError(401, "DirectApiAuthorizationRequired", "The request must be signed.")
        body = request.body
        attachments = body.get("attachments") if isinstance(body, dict) else None
        if (
            body.get("type") != "message"
            or not attachments
            or attachments[0].get("contentType") != "application/vnd.microsoft.card.adaptive"
            or attachments[0].get("content", {}).get("type") != "AdaptiveCard"
        ):
            raise _GraphError(400, "InvalidRequestContent", "Expected a message with an Adaptive Card attachment.")
        return _Answer(202)

    def _send_activity_notification(self, request: GraphRequest, oid: str) -> _Answer:
        self._check_app_token(request.header("Authorization"))
        body = request.body
        if not isinstance(body, dict):
            raise _GraphError(400, "BadRequest", "The request body must be a JSON object.")
        unknown = sorted(set(body) - ACTIVITY_PROPERTIES)
        if unknown:
            message = f"The property '{unknown[0]}' does not exist on type 'microsoft.graph.sendActivityNotification'."
            raise _GraphError(400, "BadRequest", message)
        topic = body.get("topic")
        if not isinstance(topic, dict) or topic.get("source") != "text" or not topic.get("value"):
            raise _GraphError(400, "BadRequest", "topic with source 'text' and a value is required.")
        if not str(topic.get("webUrl", "")).startswith("https://teams.microsoft.com/l/"):
            raise _GraphError(400, "BadRequest", "topic.webUrl must be a Teams deep link.")
        activity = activity_types.BY_TYPE.get(body.get("activityType", ""))
        if activity is None:
            raise _GraphError(400, "BadRequest", "The activity type is not declared in the app manifest.")
        preview = body.get("previewText")
        if not isinstance(preview, dict) or not isinstance(preview.get("content"), str):
            raise _GraphError(400, "BadRequest", "previewText.content is required.")
        if len(preview["content"]) > PREVIEW_MAX:
            raise _GraphError(400, "BadRequest", f"previewText.content is longer than {PREVIEW_MAX} characters.")
        given = {
            item.get("name"): item.get("value")
            for item in body.get("templateParameters") or []
            if isinstance(item, dict) and isinstance(item.get("value"), str)
        }
        needed = {name for _text, name, _spec, _conv in string.Formatter().parse(activity.template_text) if name}
        if needed - set(given):
            raise _GraphError(
                400, "BadRequest", f"Template parameters missing: {', '.join(sorted(needed - set(given)))}"
            )
        if oid not in self._installed:
            raise _GraphError(404, "Request_ResourceNotFound", f"Resource '{oid}' does not exist.")
        if not self._installed[oid]:
            raise _GraphError(403, "Forbidden", "The app is not installed for the recipient.")
        return _Answer(204)

    def _catalog(self, request: GraphRequest) -> _Answer:
        """GET /appCatalogs/teamsApps?$filter=externalId eq '<manifest id>'."""
        self._check_app_token(request.header("Authorization"), role=CATALOG_ROLE)
        wanted = re.search(r"externalId(?:\+|%20| )eq(?:\+|%20| )(?:'|%27)([0-9a-fA-F-]+)(?:'|%27)", request.query)
        apps = [
            {"id": catalog_id, "externalId": external_id, "distributionMethod": "organization"}
            for external_id, catalog_id in self.catalog.items()
            if wanted and wanted.group(1).lower() == external_id
        ]
        return _Answer(200, {"value": apps})

    def _install_app(self, request: GraphRequest, oid: str) -> _Answer:
        self._check_app_token(request.header("Authorization"), role=INSTALL_ROLE)
        binding = str((request.body or {}).get("teamsApp@odata.bind", "")) if isinstance(request.body, dict) else ""
        if binding.rpartition("/")[2] not in self.catalog.values():
            raise _GraphError(400, "BadRequest", "teamsApp@odata.bind names no app of the catalog.")
        if oid not in self._installed:
            raise _GraphError(404, "NotFound", f"User '{oid}' was not found.")
        if self._installed[oid]:
            raise _GraphError(409, "Conflict", "The app is already installed for this user.")
        self._installed[oid] = True
        return _Answer(201, {"id": str(uuid.uuid4())})

    def _check_app_token(self, authorization: str | None, *, role: str = "TeamsActivity.Send") -> None:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme != "Bearer" or not token:
            raise _GraphError(401, "InvalidAuthenticationToken", "Access token is empty.")
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            keys = requests.get(self.jwks_url, timeout=5).json()["keys"]
            key = next(key for key in keys if key["kid"] == kid)
            claims = jwt.decode(
                token,
                jwt.PyJWK({**key, "alg": "RS256"}).key,
                algorithms=["RS256"],
                audience=list(GRAPH_AUDIENCES),
                issuer=list(self.issuers),
                options={"require": ["exp", "iat", "aud", "iss", "tid"]},
            )
        except (jwt.PyJWTError, StopIteration, requests.RequestException, KeyError):
            raise _GraphError(401, "InvalidAuthenticationToken", "Access token validation failure.") from None
        if claims.get("tid") != self.tenant_id or claims.get("appid") != self.client_id:
            raise _GraphError(401, "InvalidAuthenticationToken", "The token is for another tenant or app.")
        if claims.get("idtyp") != "app" or role not in claims.get("roles", []):
            raise _GraphError(403, "Forbidden", f"Missing role permissions: {role}.")


class _Handler(BaseHTTPRequestHandler):
    server_version = "FakeGraph/1.0"
    timeout = 30

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        parts = urlsplit(self.path)
        request = GraphRequest(self.command, parts.path, parts.query, dict(self.headers.items()), body)
        answer = self.server.fake._handle(request)  # type: ignore[attr-defined]
        payload = json.dumps(answer.body).encode() if answer.body is not None else b""
        try:
            self.send_response(answer.status)
            if payload:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (a scripted hang)

    def log_message(self, format: str, *args: Any) -> None:
        logger.info("%s %s", self.address_string(), format % args)
