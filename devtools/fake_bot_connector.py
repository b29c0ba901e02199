"""A fake Bot Connector (the Teams side of a bot) as a real local HTTP server, for the bot's tests.

It plays both directions of the Bot Framework protocol:
- towards the bot it is the channel: it signs activities with its own RSA key, publishes that key as
  Bot Framework OpenID metadata and JWKS (``openid_metadata_url``, with the "msteams" endorsement),
  and builds the Teams activities that the tests post to /teams/bot/messages;
- towards Teams it is the serviceUrl: it records what the bot posts or updates in conversations,
  checks the bearer token (an app token of our tenant for https://api.botframework.com, signed by
  the fake Entra ID), and answers as scripted (201, or 429 with Retry-After, or 5xx)::

    with FakeBotConnector(app_id=CLIENT, tenant_id=TENANT, entra_jwks_url=...) as connector:
        token = connector.token()              # a valid Bot Connector JWT for its serviceUrl
        activity = connector.activity("message", user_oid=oid, text="hi")
        connector.script(Scripted(429, retry_after=7))
        ...                                    # connector.sent: what the bot posted
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import unquote, urlsplit

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from devtools.local_server import LocalHTTPServer

logger = logging.getLogger(__name__)

BOT_FRAMEWORK_ISSUER = "https://api.botframework.com"
BOT_FRAMEWORK_AUDIENCE = "https://api.botframework.com"
CHANNEL = "msteams"


@dataclass(frozen=True)
class Scripted:
    status: int = 201
    retry_after: int | None = None


@dataclass(frozen=True)
class ConnectorRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any

    @property
    def conversation_id(self) -> str:
        return unquote(self.path.split("/")[4])  # /teams/v3/conversations/<id>/activities


def new_rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class FakeBotConnector(LocalHTTPServer):
    def __init__(self, *, app_id: str, tenant_id: str, entra_jwks_url: str, host: str = "127.0.0.1") -> None:
        super().__init__(host=host)
        self.app_id = app_id
        self.tenant_id = tenant_id
        self.entra_jwks_url = entra_jwks_url
        self.key = new_rsa_key()
        self.kid = f"fake-bot-{uuid.uuid4().hex[:8]}"
        self.endorsements = [CHANNEL]
        self.sent: list[ConnectorRequest] = []
        self.metadata_reads = 0
        self.files: dict[str, tuple[bytes, str]] = {}
        self._script: deque[Scripted] = deque()
        self._lock = threading.Lock()

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        return _Handler

    # --- Knobs ---

    def reset(self) -> None:
        with self._lock:
            self.sent.clear()
            self._script.clear()
            self.files.clear()
            self.metadata_reads = 0

    def script(self, *answers: Scripted) -> None:
        with self._lock:
            self._script.extend(answers)

    def add_file(self, content: bytes, content_type: str) -> str:
        """A file the Connector holds (an image someone sent), read with the bot's token; its URL."""
        file_id = uuid.uuid4().hex
        with self._lock:
            self.files[file_id] = (content, content_type)
        return f"{self.service_url}v3/attachments/{file_id}/views/original"

    def roll_key(self) -> None:
        """Microsoft rolls its signing keys over: a new key with a new id from now on."""
        self.key = new_rsa_key()
        self.kid = f"fake-bot-{uuid.uuid4().hex[:8]}"

    @property
    def openid_metadata_url(self) -> str:
        return f"{self.url}/v1/.well-known/openidconfiguration"

    @property
    def service_url(self) -> str:
        return f"{self.url}/teams/"

    # --- The channel's side: tokens and activities ---

    def token(self, *, key=None, kid: str | None = None, **overrides: Any) -> str:
        """A Bot Connector JWT; ``overrides`` replace claims (None removes one)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": BOT_FRAMEWORK_ISSUER,
            "aud": self.app_id,
            "serviceUrl": self.service_url,
            "nbf": now - 5,
            "iat": now - 5,
            "exp": now + 3600,
        }
        claims.update(overrides)
        claims = {name: value for name, value in claims.items() if value is not None}
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": kid or self.kid})

    def activity(
        self,
        kind: str,
        *,
        user_oid: str,
        user_chat_id: str | None = None,
        conversation_id: str | None = None,
        tenant_id: str | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """A Teams activity in the personal chat of the user with the Entra object id ``user_oid``."""
        tenant = tenant_id or self.tenant_id
        activity = {
            "type": kind,
            "id": fields.pop("id", f"f:{uuid.uuid4().hex}"),
            "timestamp": "2026-01-01T10:00:00.000Z",
            "serviceUrl": self.service_url,
            "channelId": CHANNEL,
            "from": {"id": user_chat_id or f"29:{user_oid}", "aadObjectId": user_oid, "name": "Someone"},
            "conversation": {
                "id": conversation_id or f"a:personal-{user_oid}",
                "conversationType": "personal",
                "tenantId": tenant,
            },
            "recipient": {"id": f"28:{self.app_id}", "name": "TinyTeamsTicket"},
            "channelData": {"tenant": {"id": tenant}},
            "locale": "en-US",
        }
        activity.update(fields)
        return activity

    def team_activity(
        self,
        kind: str,
        *,
        user_oid: str,
        team_id: str,
        team_name: str = "IT",
        channel_id: str | None = None,
        channel_name: str | None = None,
        event_type: str | None = None,
        conversation_id: str | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """A Teams activity in a channel of a team ("19:...@thread.tacv2"), as Teams sends it in team
        scope: the team (and channel, where Teams names one) in channelData."""
        activity = self.activity(kind, user_oid=user_oid, **fields)
        channel_data: dict[str, Any] = {"tenant": {"id": self.tenant_id}, "team": {"id": team_id, "name": team_name}}
        if channel_id:
            channel_data["channel"] = {"id": channel_id, **({"name": channel_name} if channel_name else {})}
        if event_type:
            channel_data["eventType"] = event_type
        activity["channelData"] = channel_data
        activity["conversation"] = {
            "id": conversation_id or channel_id or team_id,
            "conversationType": "channel",
            "isGroup": True,
            "tenantId": self.tenant_id,
        }
        return activity

    def bot_added_to_team(self, *, user_oid: str, team_id: str, team_name: str = "IT") -> dict[str, Any]:
        """The conversationUpdate Teams sends when the app is added to a team (the bot joins it)."""
        return self.team_activity(
            "conversationUpdate",
            user_oid=user_oid,
            team_id=team_id,
            team_name=team_name,
            event_type="teamMemberAdded",
            membersAdded=[{"id": f"28:{self.app_id}"}],
        )

    def card_action(self, *, user_oid: str, verb: str, data: dict[str, Any], **fields: Any) -> dict[str, Any]:
        """The invoke Teams sends when someone presses an Action.Execute button (inputs merged into data)."""
        value = {"action": {"type": "Action.Execute", "verb": verb, "data": data}, "trigger": "manual"}
        return self.activity("invoke", user_oid=user_oid, name="adaptiveCard/action", value=value, **fields)

    # --- The serviceUrl's side ---

    def _handle(self, request: ConnectorRequest) -> tuple[int, Any, dict[str, str]]:
        if request.method == "GET" and request.path == "/v1/.well-known/openidconfiguration":
            with self._lock:
                self.metadata_reads += 1
            return 200, {"issuer": BOT_FRAMEWORK_ISSUER, "jwks_uri": f"{self.url}/v1/.well-known/keys"}, {}
        if request.method == "GET" and request.path == "/v1/.well-known/keys":
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
            jwk.update({"kid": self.kid, "use": "sig", "endorsements": self.endorsements})
            return 200, {"keys": [jwk]}, {}
        if request.method == "GET" and request.path.startswith("/teams/v3/attachments/"):
            if not self._token_ok(request.headers.get("Authorization", "")):
                return 401, {"error": {"code": "Unauthorized", "message": "Authorization has been denied."}}, {}
            with self._lock:
                self.sent.append(request)
                found = self.files.get(request.path.split("/")[4])
            if found is None:
                return 404, {"error": {"code": "NotFound", "message": "no such attachment"}}, {}
            return 200, found[0], {"Content-Type": found[1]}
        if not request.path.startswith("/teams/v3/conversations/"):
            return 404, {"error": {"code": "NotFound", "message": "no such path"}}, {}
        if not self._token_ok(request.headers.get("Authorization", "")):
            return 401, {"error": {"code": "Unauthorized", "message": "Authorization has been denied."}}, {}
        with self._lock:
            self.sent.append(request)
            scripted = self._script.popleft() if self._script else Scripted()
        headers = {"Retry-After": str(scripted.retry_after)} if scripted.retry_after is not None else {}
        if scripted.status >= 400:
            return scripted.status, {"error": {"code": "Throttled", "message": "try later"}}, headers
        return scripted.status, {"id": f"1:{uuid.uuid4().hex}"}, headers

    def _token_ok(self, authorization: str) -> bool:
        scheme, _, token = authorization.partition(" ")
        if scheme != "Bearer" or not token:
            return False
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            keys = requests.get(self.entra_jwks_url, timeout=5).json()["keys"]
            key = next(key for key in keys if key["kid"] == kid)
            claims = jwt.decode(
                token, jwt.PyJWK({**key, "alg": "RS256"}).key, algorithms=["RS256"], audience=BOT_FRAMEWORK_AUDIENCE
            )
        except (jwt.PyJWTError, StopIteration, requests.RequestException, KeyError):
            return False
        return claims.get("tid") == self.tenant_id


class _Handler(BaseHTTPRequestHandler):
    server_version = "FakeBotConnector/1.0"
    timeout = 30

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        request = ConnectorRequest(self.command, urlsplit(self.path).path, dict(self.headers.items()), body)
        status, answer, headers = self.server.fake._handle(request)  # type: ignore[attr-defined]
        raw = isinstance(answer, bytes)  # a file, with its own Content-Type among the headers
        payload = answer if raw else json.dumps(answer).encode()
        try:
            self.send_response(status)
            if not raw:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, format: str, *args: Any) -> None:
        logger.info("%s %s", self.address_string(), format % args)
