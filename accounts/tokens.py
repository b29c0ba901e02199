"""Microsoft tokens: encrypted storage per user, delegated Graph tokens that refresh themselves,
and validation of access tokens that Teams hands to the tab.

Stored tokens live in ``UserSocialAuth.extra_data`` encrypted with ``TOKEN_ENCRYPTION_KEY`` (Fernet),
so a database dump, the admin or an export never shows a usable token.
"""

import base64
import hashlib
import logging
import time
from functools import lru_cache
from typing import Any

import jwt
from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import transaction
from django.views.decorators.debug import sensitive_variables
from social_django.models import UserSocialAuth

from core import microsoft as graph
from core.microsoft import authority

logger = logging.getLogger(__name__)

PROVIDER = "azuread-v2-tenant-oauth2"
GRAPH_SCOPES = "openid profile offline_access User.Read email"
# Refresh this many seconds before the access token runs out, so a call never starts with a stale one.
EXPIRY_MARGIN_SECONDS = 120


class EntraTokenError(Exception):
    """An access token that this app must not accept; the message says why (safe to show)."""


# --- Encryption -----------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _fernet(key: str, secret_key: str) -> Fernet:
    if key:
        return Fernet(key.encode())
    # Development only (settings refuse SSO without a key when DEBUG is off): derive one.
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(f"tokens:{secret_key}".encode()).digest()))


def encrypt(value: str) -> str:
    return _fernet(settings.TOKEN_ENCRYPTION_KEY, settings.SECRET_KEY).encrypt(value.encode()).decode()


def decrypt(value: str) -> str | None:
    """The plain token, or None when it cannot be read (another key, or tampered with)."""
    try:
        return _fernet(settings.TOKEN_ENCRYPTION_KEY, settings.SECRET_KEY).decrypt(value.encode()).decode()
    except (InvalidToken, ValueError):
        return None


@sensitive_variables("response")
def protected_token_data(response: dict[str, Any], *, previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """What we keep of a token response: encrypted tokens, the expiry, and the ids; never the ID token."""
    data = {key: value for key, value in (previous or {}).items() if key in ("oid", "tid", "refresh_token")}
    data.update({key: response[key] for key in ("oid", "tid") if response.get(key)})
    if response.get("access_token"):
        data["access_token"] = encrypt(response["access_token"])
        data["expires_at"] = int(time.time()) + int(response.get("expires_in") or 3600)
    if response.get("refresh_token"):
        data["refresh_token"] = encrypt(response["refresh_token"])
    return data


# --- Delegated Graph tokens -----------------------------------------------------------------------


def token_endpoint() -> str:
    return f"{authority()}/oauth2/v2.0/token"


@sensitive_variables("refresh_token", "answer")
def user_graph_token(user) -> str | None:
    """A valid delegated access token for Microsoft Graph on ``user``'s behalf, refreshed when needed.

    Returns None when the user never signed in with Microsoft or the grant is gone (then they must
    sign in again). Raises graph.MicrosoftError when Entra could not be reached.
    """
    with transaction.atomic():
        social = UserSocialAuth.objects.select_for_update().filter(user=user, provider=PROVIDER).first()
        if social is None:
            return None
        data = social.extra_data or {}
        if data.get("access_token") and data.get("expires_at", 0) - EXPIRY_MARGIN_SECONDS > time.time():
            return decrypt(data["access_token"])
        refresh_token = decrypt(data.get("refresh_token", ""))
        if not refresh_token:
            return None
        # Entra v2 requires the scope on refresh; social-core's own refresh leaves it out.
        try:
            answer = graph.post_form(
                token_endpoint(),
                {
                    "client_id": settings.ENTRA_CLIENT_ID,
                    "client_secret": settings.ENTRA_CLIENT_SECRET,
                    "grant_type": "refresh_token",
                    "refresh_token": refresh_token,
                    "scope": GRAPH_SCOPES,
                },
            )
        except graph.MicrosoftError as error:
            if error.code == "invalid_grant":  # revoked or expired: only a new sign-in helps
                return None
            raise
        social.extra_data = protected_token_data(answer, previous=data)
        social.save(update_fields=["extra_data"])
        return answer.get("access_token")


# --- Validating access tokens for this app (Teams tab sign-in) ------------------------------------


def _jwks() -> list[dict[str, Any]]:
    configuration = graph.get_json(f"{authority()}/v2.0/.well-known/openid-configuration")
    return graph.get_json(configuration["jwks_uri"]).get("keys", [])


_jwks_cache: dict[str, Any] = {"keys": [], "fetched": 0.0}
JWKS_MAX_AGE_SECONDS = 24 * 3600


def _signing_key(kid: str) -> dict[str, Any] | None:
    """The published key with ``kid``; the key set is fetched again when an unknown kid turns up."""
    for attempt in range(2):
        stale = time.time() - _jwks_cache["fetched"] > JWKS_MAX_AGE_SECONDS
        if attempt == 1 or stale or not _jwks_cache["keys"]:
            _jwks_cache.update(keys=_jwks(), fetched=time.time())
        for key in _jwks_cache["keys"]:
            if key.get("kid") == kid:
                return key
    return None


def accepted_audiences() -> set[str]:
    client_id = settings.ENTRA_CLIENT_ID
    audiences = {client_id, f"api://{client_id}"}
    if settings.ENTRA_APP_ID_URI:
        audiences.add(settings.ENTRA_APP_ID_URI)
    return audiences


def accepted_issuers() -> set[str]:
    tenant = settings.ENTRA_TENANT_ID
    if settings.ENTRA_AUTHORITY_URL:  # the offline fake mirrors both issuer shapes under its own URL
        return {f"{settings.ENTRA_AUTHORITY_URL}/{tenant}/v2.0", f"{settings.ENTRA_AUTHORITY_URL}/{tenant}/"}
    host = settings.ENTRA_AUTHORITY_HOST
    v1_host = "sts.windows.net" if host == "login.microsoftonline.com" else host
    return {f"https://{host}/{tenant}/v2.0", f"https://{v1_host}/{tenant}/"}


@sensitive_variables("token")
def validate_access_token(token: str, *, required_scope: str = "access_as_user") -> dict[str, Any]:
    """Check an Entra access token issued to this app and return its claims.

    Verified: the RS256 signature against the tenant's published keys, the audience (the client id
    or its ``api://`` URI), the issuer (v1 or v2 shape) and tenant, expiry and not-before (no leeway),
    and the delegated scope. Microsoft signs every tenant's tokens with the same keys, so the tenant
    and issuer checks are what keep other organisations out.
    """
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise EntraTokenError("The token is not a JWT.") from None
    if header.get("alg") != "RS256":
        raise EntraTokenError("The token is not signed with RS256.")
    try:
        key = _signing_key(header.get("kid", ""))
    except graph.MicrosoftError as error:
        logger.warning("Could not load Entra signing keys: %s", error)
        raise EntraTokenError("The signing keys could not be loaded; try again shortly.") from None
    if key is None:
        raise EntraTokenError("The token is signed with an unknown key.")
    try:
        claims = jwt.decode(
            token,
            key=jwt.PyJWK({**key, "alg": "RS256"}).key,
            algorithms=["RS256"],
            audience=list(accepted_audiences()),
            options={"require": ["exp", "nbf", "iss", "aud", "tid"], "verify_iss": False},
            leeway=0,
        )
    except jwt.ExpiredSignatureError:
        raise EntraTokenError("The token has expired.") from None
    except jwt.ImmatureSignatureError:
        raise EntraTokenError("The token is not valid yet.") from None
    except jwt.InvalidAudienceError:
        raise EntraTokenError("The token was issued for another application.") from None
    except jwt.PyJWTError as error:
        raise EntraTokenError(f"The token is invalid: {type(error).__name__}.") from None
    if claims.get("tid") != settings.ENTRA_TENANT_ID:
        raise EntraTokenError("The token belongs to another organisation.")
    if claims.get("iss") not in accepted_issuers():
        raise EntraTokenError("The token comes from an unexpected issuer.")
    if required_scope and required_scope not in str(claims.get("scp", "")).split():
        raise EntraTokenError(f"The token lacks the {required_scope} permission.")
    if not claims.get("oid"):
        raise EntraTokenError("The token names no user.")
    return claims
