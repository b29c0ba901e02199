"""Sign-in throttling with django-axes: which address a failed sign-in counts against, which sign-ins
are throttled at all, and whose failures a successful sign-in forgives (settings: AXES_*)."""

import ipaddress

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from social_core.backends.base import BaseAuth


def _ip_or_none(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_address(request) -> str | None:
    """The client's address (AXES_CLIENT_IP_CALLABLE).

    Behind the proxy (BEHIND_PROXY) every connection comes from nginx, which adds the address it saw
    as the right-most entry of X-Forwarded-For: that one entry is trusted, anything left of it is
    the client's own claim. A request that did not come through nginx (no usable entry) counts
    against its connection's address; without a proxy the header is never read.
    """
    remote = request.META.get("REMOTE_ADDR")
    if not settings.BEHIND_PROXY:
        return remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    return _ip_or_none(forwarded.rsplit(",", 1)[-1]) or remote


def is_microsoft_sign_in(request, credentials: dict | None) -> bool:
    """Never lock out or count a Microsoft sign-in (AXES_WHITELIST_CALLABLE): it brings no password of
    ours to guess (Microsoft checks and throttles its own), only a one-time code bound to this browser's
    session, so other people's wrong passwords must not keep anyone from it. social-auth's
    ``authenticate()`` call is the one that passes its backend."""
    return isinstance((credentials or {}).get("backend"), BaseAuth)


class AxesHandler(AxesDatabaseHandler):
    """axes' database handler, except that a successful sign-in forgives only that account's own
    failures from that address. axes deletes every failure of the username *or the address*, so an
    attacker's own account would wipe the count of their guesses at other people's passwords."""

    def reset_user_attempts(self, request, credentials: dict | None = None) -> int:
        attempts = AccessAttempt.objects.filter(
            username=get_client_username(request, credentials), ip_address=request.axes_ip_address
        )
        count, _deleted = attempts.delete()
        return count
