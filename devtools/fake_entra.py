"""A fake Microsoft Entra ID (v2 endpoints) and Microsoft Graph ``/me``, served over real local HTTP.

The test suite points social-auth (backend ``azuread-v2-tenant-oauth2``) and ``core/microsoft.py``
at it; developers run it offline with ``python manage.py fake_entra``::

    with FakeEntraID(tenant_id=TENANT, client_id=CLIENT, client_secret=SECRET) as fake:
        mia = fake.add_user(name="Mia Schmidt", upn="mia@contoso.example", roles=("Tickets.Agent",))
        fake.sign_in_as(mia)          # the authorize endpoint now approves at once, as Mia
        ...                           # drive the app; inspect fake.requests afterwards

It follows Entra where a client could notice the difference: one tenant path segment, pairwise
``sub``, ``preferred_username`` = UPN, PKCE, single-use codes, refresh that requires ``scope``,
``/.default`` for client credentials, one resource per access token, Entra's error shape, and
Graph's default ``/me`` properties (``department`` only with ``$select``). It is not a security
boundary: anyone who can reach the port can sign in as anyone.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import html
import json
import logging
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from devtools.local_server import LocalHTTPServer

logger = logging.getLogger(__name__)

GRAPH_RESOURCE = "https://graph.microsoft.com"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
GRAPH_AUDIENCES = frozenset({GRAPH_RESOURCE, GRAPH_APP_ID})
TOKEN_LIFETIME = 3600
CODE_LIFETIME = 600
MAX_BODY_BYTES = 1024 * 1024

OIDC_SCOPES = ("openid", "profile", "email")
# What the fake app registration has consented to; `<resource>/.default` stands for these.
CONSENTED_GRAPH_SCOPES = ("User.Read",)
# Delegated permissions that let a user read their own profile through /me.
ME_SCOPES = frozenset({"User.Read", "User.ReadWrite", "User.ReadBasic.All", "User.Read.All", "User.ReadWrite.All"})
# Graph v1.0 returns these without $select; everything else (department!) must be selected.
ME_DEFAULT_PROPERTIES = (
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
)


@dataclass
class FakeUser:
    """A user in the fake directory. ``tid`` None means the fake's own tenant."""

    name: str
    upn: str
    email: str | None = None
    oid: str = field(default_factory=lambda: str(uuid.uuid4()))
    tid: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    roles: tuple[str, ...] = ()
    job_title: str = ""
    department: str = ""
    office_location: str = ""
    preferred_language: str = ""


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake received it; ``headers`` keep the case the client sent."""

    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    headers: dict[str, str]

    def header(self, name: str) -> str | None:
        """Look a header up case-insensitively."""
        return next((value for key, value in self.headers.items() if key.lower() == name.lower()), None)


@dataclass(frozen=True)
class _AuthorizationCode:
    client_id: str
    redirect_uri: str
    user: FakeUser
    scopes: tuple[str, ...]
    code_challenge: str
    code_challenge_method: str
    nonce: str | None
    expires_at: float


@dataclass(frozen=True)
class _RefreshGrant:
    client_id: str
    user: FakeUser


@dataclass
class _Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


class _OAuthError(Exception):
    """An Entra token/authorize error: `error` is the OAuth code, `code` the AADSTS number."""

    def __init__(self, status: int, error: str, code: int, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.code, self.description = status, error, code, description


class _GraphError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


# --- Keys -----------------------------------------------------------------------------------------


@functools.cache
def _private_keys() -> dict[str, rsa.RSAPrivateKey]:
    """Once per process: RSA generation is slow, and Microsoft, too, signs every tenant's tokens
    with the same keys. "foreign" is never published; tokens signed with it must be rejected."""
    return {name: rsa.generate_private_key(public_exponent=65537, key_size=2048) for name in ("tenant", "foreign")}


@functools.cache
def _key_id() -> str:
    """The RFC 7638 thumbprint of the published key. Deriving it from the key (instead of a fixed
    name) makes a restarted fake publish a new kid, so the app's JWKS cache refetches the keys."""
    public = RSAAlgorithm.to_jwk(_private_keys()["tenant"].public_key(), as_dict=True)
    canonical = json.dumps({name: public[name] for name in ("e", "kty", "n")}, separators=(",", ":"))
    return _b64url(hashlib.sha256(canonical.encode()).digest())


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _pairwise_subject(oid: str, app_id: str) -> str:
    """Entra's `sub` differs per application for the same user; stable for a given pair."""
    return _b64url(hashlib.sha256(f"{oid}:{app_id}".encode()).digest())


def _pkce_matches(verifier: str, challenge: str, method: str) -> bool:
    if method == "S256":
        expected = _b64url(hashlib.sha256(verifier.encode()).digest())
    elif method in ("", "plain"):
        expected = verifier
    else:
        return False
    return hmac.compare_digest(expected, challenge)


# --- Small response helpers -----------------------------------------------------------------------


def _json(status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> _Response:
    return _Response(status, json.dumps(payload).encode(), headers=headers or {})


def _html(status: int, title: str, body: str) -> _Response:
    page = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>'
        f'<body style="font-family: sans-serif; max-width: 32rem; margin: 3rem auto">{body}</body></html>'
    )
    return _Response(status, page.encode(), content_type="text/html; charset=utf-8")


def _redirect(url: str, params: dict[str, str | None]) -> _Response:
    """302 to `url` with `params` added to its query (None values are left out)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(name, value) for name, value in params.items() if value is not None]
    return _Response(302, headers={"Location": urlunsplit(parts._replace(query=urlencode(query)))})


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _required(form: dict[str, str], name: str) -> str:
    value = form.get(name, "")
    if not value:
        raise _OAuthError(400, "invalid_request", 900144, f"The request must contain the parameter '{name}'.")
    return value


def _access_token_scope(scopes: tuple[str, ...]) -> tuple[str, list[str]]:
    """Split requested delegated scopes into the access token's resource and its `scp` values.

    Like Entra: bare names (``User.Read``) belong to Graph, which also receives the OIDC scopes;
    ``offline_access`` is no permission; one access token covers exactly one resource.
    """
    by_resource: dict[str, list[str]] = {}
    for scope in scopes:
        if scope == "offline_access" or scope in OIDC_SCOPES:
            continue
        prefix, _, name = scope.rpartition("/")
        resource = GRAPH_RESOURCE if prefix in ("", *GRAPH_AUDIENCES) else prefix
        names = by_resource.setdefault(resource, [])
        names.extend(CONSENTED_GRAPH_SCOPES if name == ".default" and resource == GRAPH_RESOURCE else [name])
    if len(by_resource) > 1:
        raise _OAuthError(400, "invalid_scope", 28000, "The scope contains more than one resource.")
    resource, names = next(iter(by_resource.items()), (GRAPH_RESOURCE, []))
    if resource == GRAPH_RESOURCE:
        names += [scope for scope in OIDC_SCOPES if scope in scopes]
    names = [name for name in dict.fromkeys(names) if name != ".default"]
    return resource, names


# --- The fake -------------------------------------------------------------------------------------


class FakeEntraID(LocalHTTPServer):
    """Fake Entra ID tenant + Graph ``/me`` on one local HTTP server (see the module docstring)."""

    def __init__(
        self, *, tenant_id: str, client_id: str, client_secret: str, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.tenant_id = tenant_id
        self.client_id = client_id
        self.client_secret = client_secret
        super().__init__(host=host, port=port)
        # Applied once to the ID token of the next authorization-code exchange; None removes a claim.
        self.next_id_token_overrides: dict[str, Any] = {}
        # The next N requests to /v1.0/me answer 503.
        self.graph_failures = 0
        self.requests: list[RecordedRequest] = []
        # The app's own service principal, the subject of app-only (client credentials) tokens.
        self.app_object_id = str(uuid.uuid4())
        self.app_roles: tuple[str, ...] = ("TeamsActivity.Send",)
        self._users: dict[str, FakeUser] = {}
        self._signed_in: FakeUser | None = None
        self._codes: dict[str, _AuthorizationCode] = {}
        self._redeemed_codes: set[str] = set()
        self._refresh_tokens: dict[str, _RefreshGrant] = {}
        self._lock = threading.Lock()
        tenant = f"/{tenant_id}"
        self._routes: dict[str, dict[str, Callable[[RecordedRequest], _Response]]] = {
            f"{tenant}/v2.0/.well-known/openid-configuration": {"GET": self._openid_configuration},
            f"{tenant}/.well-known/openid-configuration": {"GET": self._openid_configuration_v1},
            f"{tenant}/discovery/v2.0/keys": {"GET": self._keys},
            f"{tenant}/discovery/keys": {"GET": self._keys},
            f"{tenant}/oauth2/v2.0/authorize": {"GET": self._authorize, "POST": self._authorize},
            f"{tenant}/oauth2/v2.0/token": {"POST": self._token},
            f"{tenant}/oauth2/v2.0/logout": {"GET": self._logout},
            "/v1.0/me": {"GET": self._me},
        }

    # --- Lifecycle ---

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        return _Handler

    # --- Addresses ---

    @property
    def authority(self) -> str:
        return f"{self.url}/{self.tenant_id}"

    @property
    def issuer(self) -> str:
        return self._issuer(self.tenant_id, version=2)

    @property
    def issuer_v1(self) -> str:
        """Stands in for ``https://sts.windows.net/<tid>/``, the issuer of v1 access tokens."""
        return self._issuer(self.tenant_id, version=1)

    @property
    def graph_url(self) -> str:
        return self.url

    def _issuer(self, tid: str, *, version: int) -> str:
        return f"{self.url}/{tid}/v2.0" if version == 2 else f"{self.url}/{tid}/"

    # --- Directory ---

    def add_user(
        self,
        *,
        name: str,
        upn: str,
        email: str | None = None,
        oid: str | None = None,
        tid: str | None = None,
        given_name: str | None = None,
        family_name: str | None = None,
        roles: tuple[str, ...] = (),
        job_title: str = "",
        department: str = "",
        office_location: str = "",
        preferred_language: str = "",
    ) -> FakeUser:
        user = FakeUser(
            name=name,
            upn=upn,
            email=email,
            oid=oid or str(uuid.uuid4()),
            tid=tid or self.tenant_id,
            given_name=given_name,
            family_name=family_name,
            roles=tuple(roles),
            job_title=job_title,
            department=department,
            office_location=office_location,
            preferred_language=preferred_language,
        )
        self._users[user.oid] = user
        return user

    def sign_in_as(self, user: FakeUser | None) -> None:
        """The authorize endpoint approves at once as `user` (added to the directory if needed);
        None shows a page to pick a user instead."""
        if user is not None:
            self._users.setdefault(user.oid, user)
        self._signed_in = user

    # --- Tokens ---

    def make_id_token(self, user: FakeUser, *, key: str = "tenant", **overrides: Any) -> str:
        """An ID token for this app. ``key="foreign"`` signs with an unpublished key (same kid);
        an override of None removes that claim."""
        claims = {
            "oid": user.oid,
            "sub": _pairwise_subject(user.oid, self.client_id),
            "name": user.name,
            "preferred_username": user.upn,
            "email": user.email,
            "given_name": user.given_name,
            "family_name": user.family_name,
            "roles": list(user.roles),
        }
        tid = user.tid or self.tenant_id
        return self._sign(claims, audience=self.client_id, tid=tid, version=2, key=key, overrides=overrides)

    def make_access_token(
        self,
        user: FakeUser,
        *,
        audience: str | None = None,
        scopes: str = "access_as_user",
        version: int = 2,
        key: str = "tenant",
        **overrides: Any,
    ) -> str:
        """A delegated access token. `audience` defaults to this app: its client id in v2 tokens,
        ``api://<client id>`` in v1 tokens (the shape of Teams SSO tokens by default)."""
        if audience is None:
            audience = self.client_id if version == 2 else f"api://{self.client_id}"
        claims = {
            "oid": user.oid,
            "sub": _pairwise_subject(user.oid, audience),
            "name": user.name,
            "scp": scopes,
            **self._client_claims(version),
            # App roles belong to this app: they appear in tokens for it, never in Graph tokens.
            "roles": list(user.roles) if audience not in GRAPH_AUDIENCES else None,
        }
        if version == 2:
            claims["preferred_username"] = user.upn
        else:
            claims.update(upn=user.upn, unique_name=user.upn, given_name=user.given_name, family_name=user.family_name)
        tid = user.tid or self.tenant_id
        return self._sign(claims, audience=audience, tid=tid, version=version, key=key, overrides=overrides)

    def make_app_token(
        self, *, audience: str = GRAPH_RESOURCE, version: int = 1, key: str = "tenant", **overrides: Any
    ) -> str:
        """An app-only (client credentials) token: no user, no `scp`, `roles` from `app_roles`."""
        claims = {
            "oid": self.app_object_id,
            "sub": self.app_object_id,
            "idtyp": "app",
            "roles": list(self.app_roles),
            **self._client_claims(version),
        }
        return self._sign(claims, audience=audience, tid=self.tenant_id, version=version, key=key, overrides=overrides)

    def _client_claims(self, version: int) -> dict[str, str]:
        """Which app asked for the token, named as v2 and v1 tokens name it."""
        if version == 2:
            return {"azp": self.client_id, "azpacr": "1"}
        return {"appid": self.client_id, "appidacr": "1"}

    def _sign(
        self, claims: dict[str, Any], *, audience: str, tid: str, version: int, key: str, overrides: dict[str, Any]
    ) -> str:
        """Add the envelope claims, drop empty ones, apply `overrides` (None removes) and sign."""
        if version not in (1, 2):
            raise ValueError(f"version must be 1 or 2, not {version!r}")
        if key not in ("tenant", "foreign"):
            raise ValueError(f'key must be "tenant" or "foreign", not {key!r}')
        now = int(time.time())
        envelope = {"aud": audience, "iss": self._issuer(tid, version=version), "iat": now, "nbf": now}
        claims = {**envelope, "exp": now + TOKEN_LIFETIME, "tid": tid, **claims, "ver": f"{version}.0"}
        claims = {name: value for name, value in claims.items() if value not in (None, "", [])}
        for name, value in overrides.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        return jwt.encode(claims, _private_keys()[key], algorithm="RS256", headers={"kid": _key_id()})

    # --- Request handling (called from the server's threads) ---

    def _handle(self, request: RecordedRequest) -> _Response:
        self.requests.append(request)
        methods = self._routes.get(request.path)
        if methods is None:
            return _json(404, {"error": "not_found", "error_description": f"No endpoint at {request.path}."})
        handler = methods.get(request.method)
        if handler is None:
            return _json(405, {"error": "method_not_allowed"}, {"Allow": ", ".join(methods)})
        try:
            return handler(request)
        except _OAuthError as error:
            return self._oauth_error(error)
        except _GraphError as error:
            return self._graph_error(request, error)
        except Exception:
            logger.exception("Fake Entra ID failed on %s %s", request.method, request.path)
            return _json(500, {"error": "server_error", "error_description": "The fake failed; see the log."})

    def _oauth_error(self, error: _OAuthError) -> _Response:
        trace_id, correlation_id = str(uuid.uuid4()), str(uuid.uuid4())
        timestamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        description = (
            f"AADSTS{error.code}: {error.description} Trace ID: {trace_id} "
            f"Correlation ID: {correlation_id} Timestamp: {timestamp}"
        )
        return _json(
            error.status,
            {
                "error": error.error,
                "error_description": description,
                "error_codes": [error.code],
                "timestamp": timestamp,
                "trace_id": trace_id,
                "correlation_id": correlation_id,
            },
        )

    def _graph_error(self, request: RecordedRequest, error: _GraphError) -> _Response:
        inner = {
            "date": _now_iso(),
            "request-id": str(uuid.uuid4()),
            "client-request-id": request.header("client-request-id") or str(uuid.uuid4()),
        }
        headers = {"WWW-Authenticate": 'Bearer realm="", error="invalid_token"'} if error.status == 401 else {}
        body = {"error": {"code": error.code, "message": error.message, "innerError": inner}}
        return _json(error.status, body, headers)

    # --- Discovery ---

    def _openid_configuration(self, request: RecordedRequest) -> _Response:
        return _json(200, self._discovery_document(self.issuer, jwks_path="discovery/v2.0/keys"))

    def _openid_configuration_v1(self, request: RecordedRequest) -> _Response:
        return _json(200, self._discovery_document(self.issuer_v1, jwks_path="discovery/keys"))

    def _discovery_document(self, issuer: str, *, jwks_path: str) -> dict[str, Any]:
        return {
            "issuer": issuer,
            "authorization_endpoint": f"{self.authority}/oauth2/v2.0/authorize",
            "token_endpoint": f"{self.authority}/oauth2/v2.0/token",
            "jwks_uri": f"{self.authority}/{jwks_path}",
            "end_session_endpoint": f"{self.authority}/oauth2/v2.0/logout",
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "subject_types_supported": ["pairwise"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
            "msgraph_host": urlsplit(self.graph_url).netloc,
            "request_uri_parameter_supported": False,
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
        }

    def _keys(self, request: RecordedRequest) -> _Response:
        public = RSAAlgorithm.to_jwk(_private_keys()["tenant"].public_key(), as_dict=True)
        key = {**public, "kid": _key_id(), "use": "sig", "alg": "RS256"}
        if "/v2.0/" in request.path:
            # As at Microsoft: social-auth fills in the token's tid and compares with its `iss`.
            key["issuer"] = f"{self.url}/{{tenantid}}/v2.0"
        return _json(200, {"keys": [key]})

    # --- Authorization endpoint ---

    def _authorize(self, request: RecordedRequest) -> _Response:
        params = request.form if request.method == "POST" else request.query
        client_id = params.get("client_id", "")
        if client_id != self.client_id:
            return self._error_page(f"AADSTS700016: Application '{client_id}' was not found in the directory.")
        redirect_uri = params.get("redirect_uri", "")
        parts = urlsplit(redirect_uri)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
            return self._error_page(f"AADSTS50011: The redirect URI '{redirect_uri}' is not a valid reply address.")

        # From here on errors go back to the app, as Entra does once it trusts the redirect URI.
        state = params.get("state")
        if params.get("response_type") != "code":
            error = ("unsupported_response_type", "AADSTS700054: Only response_type=code is supported.")
        elif not params.get("scope", "").split():
            error = ("invalid_request", "AADSTS900144: The request must contain the parameter 'scope'.")
        elif "cancel" in params:
            error = ("access_denied", "AADSTS65004: User declined to consent to access the app.")
        else:
            error = None
        if error is not None:
            return _redirect(redirect_uri, {"error": error[0], "error_description": error[1], "state": state})

        if "oid" in params:  # chosen on the picker page
            user = self._users.get(params["oid"])
            if user is None:
                return self._error_page("AADSTS50034: The user account does not exist in this directory.")
        elif self._signed_in is not None:
            user = self._signed_in
        else:
            return self._picker_page(request.path, params)

        code = secrets.token_urlsafe(48)
        with self._lock:
            self._codes[code] = _AuthorizationCode(
                client_id=client_id,
                redirect_uri=redirect_uri,
                user=user,
                scopes=tuple(params["scope"].split()),
                code_challenge=params.get("code_challenge", ""),
                code_challenge_method=params.get("code_challenge_method", ""),
                nonce=params.get("nonce") or None,
                expires_at=time.time() + CODE_LIFETIME,
            )
        return _redirect(redirect_uri, {"code": code, "state": state})

    def _picker_page(self, action: str, params: dict[str, str]) -> _Response:
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}">'
            for name, value in params.items()
            if name not in ("oid", "cancel")
        )
        buttons = "".join(
            f'<p><button name="oid" value="{html.escape(user.oid)}" style="width: 100%; text-align: left">'
            f"<strong>{html.escape(user.name)}</strong><br>{html.escape(user.upn)}"
            f"{'<br>Roles: ' + html.escape(', '.join(user.roles)) if user.roles else ''}</button></p>"
            for user in self._users.values()
        )
        if not buttons:
            buttons = "<p>The directory is empty: add users with <code>add_user()</code>.</p>"
        body = (
            f"<h1>Fake Entra ID</h1><p>Sign in to {html.escape(self.client_id)} as:</p>"
            f'<form method="post" action="{html.escape(action)}">{hidden}{buttons}'
            '<p><button name="cancel" value="1">Cancel</button></p></form>'
        )
        return _html(200, "Sign in – Fake Entra ID", body)

    def _error_page(self, message: str) -> _Response:
        return _html(400, "Sign-in error – Fake Entra ID", f"<h1>Sign-in error</h1><p>{html.escape(message)}</p>")

    # --- Token endpoint ---

    def _token(self, request: RecordedRequest) -> _Response:
        client_id = self._authenticate_client(request)
        grant_type = _required(request.form, "grant_type")
        grants = {
            "authorization_code": self._grant_authorization_code,
            "refresh_token": self._grant_refresh_token,
            "client_credentials": self._grant_client_credentials,
        }
        if grant_type not in grants:
            raise _OAuthError(400, "unsupported_grant_type", 70003, f"Unsupported grant type '{grant_type}'.")
        return _json(200, grants[grant_type](request.form, client_id), {"Cache-Control": "no-store"})

    def _authenticate_client(self, request: RecordedRequest) -> str:
        """Return the client id, authenticated by client_secret_post or client_secret_basic (the
        Basic credentials are taken as sent: clients rarely URL-encode them as RFC 6749 asks)."""
        client_id, secret = request.form.get("client_id", ""), request.form.get("client_secret", "")
        scheme, _, credentials = (request.header("Authorization") or "").partition(" ")
        if scheme.lower() == "basic":
            try:
                client_id, _, secret = base64.b64decode(credentials, validate=True).decode().partition(":")
            except ValueError:  # also binascii.Error and UnicodeDecodeError
                raise _OAuthError(401, "invalid_client", 7000215, "Malformed HTTP Basic credentials.") from None
        if not client_id:
            raise _OAuthError(400, "invalid_request", 900144, "The request must contain the parameter 'client_id'.")
        if client_id != self.client_id:
            raise _OAuthError(400, "unauthorized_client", 700016, f"Application '{client_id}' was not found.")
        if not secret:
            raise _OAuthError(401, "invalid_client", 7000218, "The request must contain 'client_secret'.")
        if not hmac.compare_digest(secret.encode(), self.client_secret.encode()):
            raise _OAuthError(401, "invalid_client", 7000215, "Invalid client secret provided.")
        return client_id

    def _grant_authorization_code(self, form: dict[str, str], client_id: str) -> dict[str, Any]:
        code = _required(form, "code")
        # Popped before any check: like Entra, a failed redemption burns the code too.
        with self._lock:
            grant = self._codes.pop(code, None)
            redeemed = code in self._redeemed_codes
            if grant is not None:
                self._redeemed_codes.add(code)
        if redeemed:
            raise _OAuthError(400, "invalid_grant", 54005, "OAuth2 Authorization code was already redeemed.")
        if grant is None or grant.client_id != client_id:
            raise _OAuthError(400, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
        if grant.expires_at < time.time():
            raise _OAuthError(400, "invalid_grant", 70008, "The provided authorization code has expired.")
        if form.get("redirect_uri", "") != grant.redirect_uri:
            raise _OAuthError(400, "invalid_grant", 500112, "The reply address does not match the authorization's.")
        verifier = form.get("code_verifier", "")
        if grant.code_challenge and not _pkce_matches(verifier, grant.code_challenge, grant.code_challenge_method):
            raise _OAuthError(400, "invalid_grant", 50148, "The code_verifier does not match the code_challenge.")
        with self._lock:
            overrides, self.next_id_token_overrides = self.next_id_token_overrides, {}
        if grant.nonce:
            overrides = {"nonce": grant.nonce, **overrides}
        return self._token_response(
            grant.user,
            grant.scopes,
            client_id=client_id,
            id_token_overrides=overrides,
            refresh="offline_access" in grant.scopes,
        )

    def _grant_refresh_token(self, form: dict[str, str], client_id: str) -> dict[str, Any]:
        refresh_token = _required(form, "refresh_token")
        scopes = tuple(form.get("scope", "").split())
        if not scopes:  # Entra's v2 endpoint insists; social-auth's refresh does not send it
            raise _OAuthError(400, "invalid_request", 90014, "The required field 'scope' is missing.")
        with self._lock:
            grant = self._refresh_tokens.pop(refresh_token, None)
        if grant is None or grant.client_id != client_id:
            raise _OAuthError(400, "invalid_grant", 70000, "The refresh_token is not valid.")
        # Rotation: the old refresh token was popped above, the response carries a new one.
        return self._token_response(grant.user, scopes, client_id=client_id, id_token_overrides={}, refresh=True)

    def _grant_client_credentials(self, form: dict[str, str], client_id: str) -> dict[str, Any]:
        scopes = _required(form, "scope").split()
        if len(scopes) != 1 or not scopes[0].endswith("/.default"):
            message = "Client credential flows must have one scope value with /.default suffixed to the resource."
            raise _OAuthError(400, "invalid_scope", 1002012, message)
        audience = scopes[0].removesuffix("/.default")
        version = 1 if audience in GRAPH_AUDIENCES else 2
        return {
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME,
            "ext_expires_in": TOKEN_LIFETIME,
            "access_token": self.make_app_token(audience=audience, version=version),
        }

    def _token_response(
        self,
        user: FakeUser,
        scopes: tuple[str, ...],
        *,
        client_id: str,
        id_token_overrides: dict[str, Any],
        refresh: bool,
    ) -> dict[str, Any]:
        resource, scp = _access_token_scope(scopes)
        # Graph accepts only v1 tokens; other APIs get the v2 shape (accessTokenAcceptedVersion: 2).
        version = 1 if resource == GRAPH_RESOURCE else 2
        scope = " ".join(scp if resource == GRAPH_RESOURCE else [f"{resource}/{name}" for name in scp])
        body: dict[str, Any] = {
            "token_type": "Bearer",
            "scope": scope,
            "expires_in": TOKEN_LIFETIME,
            "ext_expires_in": TOKEN_LIFETIME,
            "access_token": self.make_access_token(user, audience=resource, scopes=" ".join(scp), version=version),
        }
        if "openid" in scopes:
            body["id_token"] = self.make_id_token(user, **id_token_overrides)
        if refresh:
            refresh_token = secrets.token_urlsafe(64)
            with self._lock:
                self._refresh_tokens[refresh_token] = _RefreshGrant(client_id=client_id, user=user)
            body["refresh_token"] = refresh_token
        return body

    # --- Sign-out ---

    def _logout(self, request: RecordedRequest) -> _Response:
        target = request.query.get("post_logout_redirect_uri")
        if target:
            return _redirect(target, {"state": request.query.get("state")})
        return _html(200, "Signed out – Fake Entra ID", "<h1>You signed out of your account</h1>")

    # --- Microsoft Graph ---

    def _me(self, request: RecordedRequest) -> _Response:
        with self._lock:
            failing = self.graph_failures > 0
            if failing:
                self.graph_failures -= 1
        if failing:
            raise _GraphError(503, "serviceNotAvailable", "The service is temporarily unavailable.")
        claims = self._graph_token_claims(request.header("Authorization"))
        if claims.get("idtyp") == "app" or "scp" not in claims:
            message = "/me request is only valid with delegated authentication flow."
            raise _GraphError(401, "NoPermissionsInAccessToken", message)
        if not ME_SCOPES & set(str(claims["scp"]).split()):
            raise _GraphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
        user = self._users.get(claims.get("oid", ""))
        if user is None:
            raise _GraphError(404, "Request_ResourceNotFound", f"Resource '{claims.get('oid')}' does not exist.")

        profile = {
            "businessPhones": [],
            "displayName": user.name,
            "givenName": user.given_name,
            "jobTitle": user.job_title or None,
            "mail": user.email,
            "mobilePhone": None,
            "officeLocation": user.office_location or None,
            "preferredLanguage": user.preferred_language or None,
            "surname": user.family_name,
            "userPrincipalName": user.upn,
            "id": user.oid,
            "department": user.department or None,
        }
        selected = [name.strip() for name in request.query.get("$select", "").split(",") if name.strip()]
        if selected:
            by_lower = {name.lower(): name for name in profile}
            unknown = [name for name in selected if name.lower() not in by_lower]
            if unknown:
                message = f"Could not find a property named '{unknown[0]}' on type 'microsoft.graph.user'."
                raise _GraphError(400, "BadRequest", message)
            names = list(dict.fromkeys(by_lower[name.lower()] for name in selected))
            context = f"{self.graph_url}/v1.0/$metadata#users({','.join(names)})/$entity"
        else:
            names = list(ME_DEFAULT_PROPERTIES)
            context = f"{self.graph_url}/v1.0/$metadata#users/$entity"
        return _json(200, {"@odata.context": context, **{name: profile[name] for name in names}})

    def _graph_token_claims(self, authorization: str | None) -> dict[str, Any]:
        """Graph checks what it can: our signature, lifetime, a Graph audience and this tenant."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _GraphError(401, "InvalidAuthenticationToken", "Access token is empty.")
        try:
            return jwt.decode(
                token.strip(),
                _private_keys()["tenant"].public_key(),
                algorithms=["RS256"],
                audience=sorted(GRAPH_AUDIENCES),
                issuer=[self.issuer, self.issuer_v1],
                options={"require": ["exp", "iat", "aud", "iss", "tid"]},
            )
        except jwt.ExpiredSignatureError:
            message = "Lifetime validation failed, the token is expired."
        except jwt.InvalidAudienceError:
            message = "Access token validation failure. Invalid audience."
        except jwt.InvalidIssuerError:
            message = "Access token validation failure. Invalid issuer."
        except jwt.PyJWTError:
            message = "Access token validation failure."
        raise _GraphError(401, "InvalidAuthenticationToken", message)


class _Handler(BaseHTTPRequestHandler):
    """Turns HTTP into RecordedRequest for `FakeEntraID._handle` and its _Response back into HTTP."""

    server_version = "FakeEntraID/1.0"
    timeout = 30  # a stalled client must not hold a thread forever

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY_BYTES:
            self._send(_json(400, {"error": "invalid_request", "error_description": "Bad Content-Length."}))
            return
        body = self.rfile.read(length).decode("utf-8", "replace")
        parts = urlsplit(self.path)
        is_form = (self.headers.get("Content-Type") or "").startswith("application/x-www-form-urlencoded")
        request = RecordedRequest(
            method=self.command,
            path=parts.path,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            form=dict(parse_qsl(body, keep_blank_values=True)) if is_form else {},
            headers=dict(self.headers.items()),
        )
        self._send(self.server.fake._handle(request))  # type: ignore[attr-defined]

    def _send(self, response: _Response) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        logger.info("%s %s", self.address_string(), format % args)
