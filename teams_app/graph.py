"""The one module that talks HTTP to Microsoft: Entra ID's token and key endpoints, and Graph.

Every call has a fixed timeout. Failures raise :class:`MicrosoftError`, which says whether trying
again can help (``permanent``) and how long to wait (``retry_after``). Callers in a request make one
attempt; background workers retry with :func:`call_with_retry`. Tokens are never logged.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import requests
from django.conf import settings

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10
MAX_RETRY_AFTER_SECONDS = 120
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
    value = response.headers.get("Retry-After", "")
    try:
        return min(max(float(value), 0.0), MAX_RETRY_AFTER_SECONDS)
    except ValueError:
        return None


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


def _send(method: str, url: str, **kwargs) -> requests.Response:
    try:
        response = requests.request(method, url, timeout=TIMEOUT_SECONDS, **kwargs)
    except requests.Timeout:
        raise MicrosoftError("timed out", status=None, code="timeout") from None
    except requests.RequestException as error:
        raise MicrosoftError(f"connection failed: {type(error).__name__}", status=None, code="connection") from None
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


def post_json(url: str, payload: dict[str, Any], *, token: str) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
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
            logger.info("Microsoft call failed (%s); retrying in %.1f s", error, delay)
            sleep(delay)
    raise AssertionError("unreachable")
