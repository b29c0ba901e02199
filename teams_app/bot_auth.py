"""Authenticating the Bot Connector's requests to the bot, as the Bot Framework protocol prescribes.

Every request to /teams/bot/messages carries ``Authorization: Bearer <JWT>``. It is accepted only when
- it is signed (RS256) with a key from the Bot Framework's OpenID metadata
  (TEAMS_BOT_OPENID_METADATA_URL → ``jwks_uri``), and that key endorses the activity's channel;
- its issuer is https://api.botframework.com and its audience our bot's Microsoft App ID
  (ENTRA_CLIENT_ID: the bot is a single-tenant Azure Bot on our app registration);
- it has not expired (the protocol allows five minutes of clock skew);
- its ``serviceUrl`` claim is the activity's serviceUrl: the bot only ever answers to the address
  Microsoft signed, never to one a caller made up;
- and the activity comes from our tenant (ENTRA_TENANT_ID).

The keys are read through the one Microsoft seam (core.microsoft) and kept for a day. A token signed
with a key we do not know makes us read the keys again (Microsoft rolls them over), at most once
every few minutes, so forged tokens cannot make us hammer Microsoft.

We validate with PyJWT ourselves rather than with the Agents SDK's validator: see the README's
"Teams bot" section for why.
"""

import logging
import threading
import time
from dataclasses import dataclass, field

import jwt
from django.conf import settings
from microsoft_agents.activity import Activity

from core import microsoft

logger = logging.getLogger(__name__)

ISSUER = "https://api.botframework.com"
ALGORITHMS = ["RS256"]
LEEWAY_SECONDS = 300
KEYS_MAX_AGE_SECONDS = 24 * 3600
REFETCH_MIN_INTERVAL_SECONDS = 300
# With no keys at all (Microsoft's metadata could not be read yet) the bot tries again sooner, but
# still not for every request: a stream of well-formed tokens must not become a stream of fetches.
NO_KEYS_REFETCH_INTERVAL_SECONDS = 10


class BotAuthError(Exception):
    """The request is not from the Bot Connector for our bot and tenant; the message says why (for
    the log: no token in it)."""


@dataclass
class _KeySet:
    url: str = ""
    keys: dict[str, tuple[jwt.PyJWK, list[str]]] = field(default_factory=dict)
    fetched_at: float = 0.0
    attempted_at: float = float("-inf")


_lock = threading.Lock()
_key_set = _KeySet()


def reset_keys() -> None:
    """Forget the cached keys (tests that switch fake connectors)."""
    global _key_set
    with _lock:
        _key_set = _KeySet()


def _fetch(url: str) -> dict[str, tuple[jwt.PyJWK, list[str]]]:
    metadata = microsoft.get_json(url)
    jwks_uri = metadata.get("jwks_uri") if isinstance(metadata, dict) else None
    if not isinstance(jwks_uri, str) or not jwks_uri:
        raise microsoft.MicrosoftError("the OpenID metadata has no jwks_uri", status=None, code="metadata")
    keys: dict[str, tuple[jwt.PyJWK, list[str]]] = {}
    for entry in microsoft.get_json(jwks_uri).get("keys", []):
        if not isinstance(entry, dict) or not entry.get("kid"):
            continue
        try:
            key = jwt.PyJWK(entry)
        except jwt.PyJWKError:
            continue  # a key type we cannot use; the others still count
        endorsements = entry.get("endorsements")
        keys[str(entry["kid"])] = (key, [str(e) for e in endorsements] if isinstance(endorsements, list) else [])
    return keys


def _signing_key(kid: str) -> tuple[jwt.PyJWK, list[str]]:
    global _key_set
    url = settings.TEAMS_BOT_OPENID_METADATA_URL
    now = time.monotonic()
    with _lock:
        current = _key_set if _key_set.url == url else _KeySet(url=url)
        expired = now - current.fetched_at > KEYS_MAX_AGE_SECONDS or not current.keys
        unknown = kid not in current.keys
        interval = REFETCH_MIN_INTERVAL_SECONDS if current.keys else NO_KEYS_REFETCH_INTERVAL_SECONDS
        may_fetch = now - current.attempted_at >= interval
        if (expired or unknown) and may_fetch:
            current.attempted_at = now
            try:
                current = _KeySet(url=url, keys=_fetch(url), fetched_at=now, attempted_at=now)
            except microsoft.MicrosoftError as error:
                # Keep the keys we have: Microsoft's metadata being away must not lock the bot out.
                logger.warning("Reading the Bot Framework signing keys failed: %s", error)
        _key_set = current
        found = current.keys.get(kid)
    if found is None:
        raise BotAuthError("the token is signed with a key the Bot Framework does not publish")
    return found


def verify_token(authorization: str) -> tuple[dict, list[str]]:
    """Check the token's signature, issuer, audience and expiry; return its claims and the
    endorsements of the key that signed it."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise BotAuthError("no bearer token")
    token = token.strip()
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:
        raise BotAuthError("the token is not a JWT") from None
    if header.get("alg") not in ALGORITHMS:
        raise BotAuthError("the token is not signed with RS256")
    if not settings.ENTRA_CLIENT_ID:
        raise BotAuthError("the bot has no Microsoft App ID (ENTRA_CLIENT_ID)")
    key, endorsements = _signing_key(str(header.get("kid", "")))
    try:
        claims = jwt.decode(
            token,
            key.key,
            algorithms=ALGORITHMS,
            audience=settings.ENTRA_CLIENT_ID,
            issuer=ISSUER,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iss", "aud"]},
        )
    except jwt.InvalidTokenError as error:
        raise BotAuthError(f"the token is not valid: {type(error).__name__}") from None
    return claims, endorsements


def activity_tenant(activity: Activity) -> str:
    """The tenant an activity comes from: the conversation's, else Teams' channelData.tenant.id."""
    tenant = activity.conversation.tenant_id if activity.conversation else None
    if not tenant and isinstance(activity.channel_data, dict):
        tenant = (activity.channel_data.get("tenant") or {}).get("id")
    return str(tenant or "")


def check_activity(claims: dict, endorsements: list[str], activity: Activity) -> None:
    """The checks that need the activity: the key endorses its channel, the token was issued for its
    serviceUrl, and it comes from our tenant."""
    if not activity.channel_id or str(activity.channel_id) not in endorsements:
        raise BotAuthError("the signing key does not endorse this channel")
    if not activity.service_url or claims.get("serviceUrl") != activity.service_url:
        raise BotAuthError("the token's serviceUrl is not the activity's")
    tenant = activity_tenant(activity)
    if not settings.ENTRA_TENANT_ID or tenant.lower() != settings.ENTRA_TENANT_ID.lower():
        raise BotAuthError("the activity comes from another tenant")
