"""Sessions in the database, read through the cache (Redis) when it answers and without it when not.

Django's ``cached_db`` raises on most cache errors, so an unreachable Redis would fail sign-in and
every signed-in page. Here the database stays the record and the cache only a shortcut: a cache that
cannot be read is a miss, one that cannot be written or cleared is skipped (and logged).

A sign-out while Redis is unreachable deletes the session from the database but cannot remove it
from the cache; when Redis answers again, that entry could bring the session back. Cached entries
therefore live at most ``CACHE_SECONDS``: that bounds the window, at the cost of reading each
active session from the database once per window.
"""

import logging

from django.contrib.sessions.backends import cached_db

logger = logging.getLogger(__name__)

CACHE_SECONDS = 300


class _SoftCache:
    """The session cache, failing softly."""

    def __init__(self, cache) -> None:
        self._cache = cache

    def get(self, key, default=None):
        try:
            return self._cache.get(key, default)
        except Exception:  # any cache backend error: a miss
            logger.warning("The session cache failed (get); the database answers.", exc_info=True)
            return default

    def set(self, key, value, timeout=None) -> None:
        timeout = CACHE_SECONDS if timeout is None else min(timeout, CACHE_SECONDS)
        try:
            self._cache.set(key, value, timeout)
        except Exception:  # any cache backend error: the database has it
            logger.warning("The session cache failed (set); the database answers.", exc_info=True)

    def delete(self, key) -> None:
        try:
            self._cache.delete(key)
        except Exception:  # any cache backend error: the entry expires within CACHE_SECONDS
            logger.warning("The session cache failed (delete); the database answers.", exc_info=True)

    def __contains__(self, key) -> bool:
        try:
            return key in self._cache
        except Exception:  # any cache backend error: ask the database
            logger.warning("The session cache failed (has_key); the database answers.", exc_info=True)
            return False


class SessionStore(cached_db.SessionStore):
    def __init__(self, session_key=None):
        super().__init__(session_key)
        self._cache = _SoftCache(self._cache)
