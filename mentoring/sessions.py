"""The session engine with Redis: Django's `cached_db`, which carries on with the database alone while Redis is
unreachable.

`cached_db` keeps every session in the database and reads it from Redis (`SESSION_CACHE_ALIAS`), so a logged-in
page loads its session without a query, and a session outlives Redis being restarted or emptied. Django's engine
already treats a failed read as a miss and a failed write as nothing; here the rest of its cache calls do the same
(filling the cache after a miss, checking a new session key is free, deleting at log-out), so that with Redis down a
log-in, every page and a log-out still work from the database, as they did without Redis.
"""

import logging

from django.contrib.sessions.backends import cached_db

logger = logging.getLogger(__name__)


class _CarryOnWithout:
    """The sessions' cache, where an error (Redis stopped or unreachable) is a miss, and a write that fails is
    logged and left undone."""

    def __init__(self, cache):
        self._cache = cache

    def __getattr__(self, name):  # the rest (the async calls an ASGI server would make) as the cache has them
        return getattr(self._cache, name)

    def _warn(self, what):
        logger.warning("Session cache unreachable (%s); using the database alone", what, exc_info=True)

    def get(self, key, default=None):
        try:
            return self._cache.get(key, default)
        except Exception:
            self._warn("read")
            return default

    def set(self, key, value, timeout=None):
        try:
            self._cache.set(key, value, timeout)
        except Exception:
            self._warn("write")

    def delete(self, key):
        try:
            return self._cache.delete(key)
        except Exception:
            self._warn("delete")
            return False

    def __contains__(self, key):
        try:
            return key in self._cache
        except Exception:
            self._warn("read")
            return False


class SessionStore(cached_db.SessionStore):
    def __init__(self, session_key=None):
        super().__init__(session_key)
        self._cache = _CarryOnWithout(self._cache)
