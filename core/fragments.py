"""Rendered page fragments kept in the cache, under a key of everything they show.

A fragment's key names what its HTML depends on: the data the page names (a ticket and the time of
its last change, say), the reader's role, language, time zone and URL prefix (the Teams tab serves
the site under /teams/app/), and the version of the code and templates that rendered it. A change to
any of them is a new key, so no one is shown HTML of another role, language or release. What a key
cannot name, such as a colleague's changed display name, shows after at most
``settings.FRAGMENT_CACHE_SECONDS`` (0: no caching).

The cache is Redis in production, shared by all workers; without REDIS_URL, each process's memory.
"""

import hashlib
import logging
import secrets
from functools import cache
from pathlib import Path

from django.conf import settings
from django.core.cache import caches
from django.db import transaction
from django.urls import get_script_prefix
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

CODE_SUFFIXES = {".html", ".py", ".mo"}
logger = logging.getLogger(__name__)


def _cache_call(operation, *args):
    """A cache operation that fails softly (None): with Redis down, pages render uncached."""
    try:
        return operation(*args)
    except Exception:  # any cache backend error: logged, and the page goes on
        logger.warning("The cache failed; rendering without it.", exc_info=True)
        return None


@cache
def code_version() -> str:
    """A digest of the project's templates, Python code and translations, read once per process."""
    digest = hashlib.blake2b(digest_size=8)
    root = Path(settings.BASE_DIR)
    for folder in ("templates", "locale", "core", "accounts", "tickets", "teams_app"):
        for path in sorted((root / folder).rglob("*")):
            if path.suffix in CODE_SUFFIXES and "tests" not in path.parts and path.is_file():
                digest.update(str(path.relative_to(root)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def _new_generation() -> str:
    return secrets.token_hex(8)  # random, not a clock: unique even under a frozen test clock


def generation(name: str) -> str:
    """A value that changes with every ``bump(name)``: a key part for data that has no time of its
    last change (saved lists, say). If the cache loses it, a new one is drawn, never an old one."""
    value = _cache_call(caches["default"].get_or_set, f"generation:{name}", _new_generation, None)
    return value if value is not None else _new_generation()  # no cache: a key nobody will find again


def bump(name: str) -> None:
    """A new generation now, and again once the current transaction commits: a page read between the
    two may have cached what was there before the commit, under the first one."""

    def renew() -> None:
        _cache_call(caches["default"].set, f"generation:{name}", _new_generation(), None)

    renew()
    transaction.on_commit(renew)


def fragment_key(name: str, user, *parts) -> str:
    reader = (
        "agent" if getattr(user, "is_agent", False) else "person",
        get_language(),
        timezone.get_current_timezone_name(),
        get_script_prefix(),
        code_version(),
    )
    digest = hashlib.blake2b("\x1f".join(str(part) for part in (*reader, *parts)).encode(), digest_size=16)
    return f"fragment:{name}:{digest.hexdigest()}"


def cached_value(name: str, user, parts: tuple, compute):
    """The value (a few counts, rendered HTML) from the cache, or ``compute()``'s, stored for the next
    reader; computed every time with FRAGMENT_CACHE_SECONDS 0."""
    if settings.FRAGMENT_CACHE_SECONDS <= 0:
        return compute()
    key = fragment_key(name, user, *parts)
    value = _cache_call(caches["default"].get, key)
    if value is None:
        value = compute()
        _cache_call(caches["default"].set, key, value, settings.FRAGMENT_CACHE_SECONDS)
    return value


def cached_fragment(name: str, user, parts: tuple, render) -> SafeString:
    """The fragment's HTML from the cache, or ``render()``'s, stored for the next reader."""
    html = cached_value(name, user, parts, lambda: str(render()))
    return mark_safe(html)  # noqa: S308 - rendered by our templates with autoescaping, stored as is
