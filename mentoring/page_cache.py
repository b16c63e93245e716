"""Pages a logged-in user has just seen are served again from Redis until anything in the database changes.

A page is kept per log-in (the session cookie) and address (path and query), together with two stamps, and is
served again only while both still hold:

- the **generation**: a token in Redis that is replaced after every committed write through Django's database
  connection, in any process (web, Celery worker, shell, admin). A page is stamped with the generation read
  *before* it was rendered, so a write that commits while it renders leaves it stale, never wrong.
- the **minute** it was rendered in. What time alone changes on a page (a session now to wrap up, today's date)
  is never more than a minute behind the clock, and exactly on time for sessions that start and end on the
  minute, since the day also turns on the minute.

Log-out, a password change and a role change are writes, so they end every kept page too. Only views marked
`@page_cached` are kept, only a 200 to a GET from a logged-in user whose session and cookies the response leaves
alone, and never while a flash message waits to be shown. With Redis unreachable, pages are rendered as usual.

The worst case is a process that dies between committing a write and replacing the generation: pages from
before that write can be served until the minute turns.
"""

import logging
import re
import time
import uuid
from hashlib import blake2b

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import caches
from django.db.backends.signals import connection_created
from django.http import HttpResponse
from django.urls import Resolver404, resolve

logger = logging.getLogger(__name__)

GENERATION = "generation"
_KEPT_HEADERS = ("Content-Type", "X-Frame-Options", "Vary", "Cache-Control", "Expires", "Content-Language")
_READS = re.compile(r"\s*(SELECT|SAVEPOINT|RELEASE|ROLLBACK|SET|SHOW|EXPLAIN|PRAGMA|BEGIN|COMMIT)\b", re.IGNORECASE)
_WITH_WRITES = re.compile(r"\b(INSERT|UPDATE|DELETE|MERGE)\b", re.IGNORECASE)


def _cache():
    return caches[settings.PAGE_CACHE_ALIAS]


def page_cached(view):
    """Marks a read-only view whose page depends only on the database, the user, the address and the time.
    Decorators that use functools.wraps (login_required) carry the mark."""
    view.page_cached = True
    return view


def _is_page_cached(path: str) -> bool:
    try:
        return getattr(resolve(path).func, "page_cached", False)
    except Resolver404:
        return False


# --------------------------------------------------------------------------- the generation


def new_generation() -> None:
    """Every kept page goes stale. Never raises: a write has already committed when this runs."""
    try:
        _cache().set(GENERATION, uuid.uuid4().hex, timeout=None)
    except Exception:
        logger.warning("Could not replace the page cache's generation; kept pages stay until the minute turns",
                       exc_info=True)


def note_write(connection) -> None:
    """Replace the generation once the current transaction commits (at once outside a transaction)."""
    if not settings.PAGE_CACHE:
        return
    if connection.in_atomic_block and any(func is new_generation for _, func, _ in connection.run_on_commit):
        return
    connection.on_commit(new_generation)


def _is_write(sql) -> bool:
    if not isinstance(sql, str):
        return True
    if sql.lstrip()[:4].upper() == "WITH":
        return bool(_WITH_WRITES.search(sql))
    return not _READS.match(sql)


def _notice_writes(execute, sql, params, many, context):
    result = execute(sql, params, many, context)
    if settings.PAGE_CACHE and _is_write(sql) and context["cursor"].rowcount != 0:
        note_write(context["connection"])
    return result


def watch_for_writes(sender, connection, **kwargs):
    """Connected to `connection_created`: first in the list, so `connection.execute_wrapper()` blocks, which pop
    the last wrapper when they end, never remove it."""
    if _notice_writes not in connection.execute_wrappers:
        connection.execute_wrappers.insert(0, _notice_writes)


connection_created.connect(watch_for_writes, dispatch_uid="page_cache.watch_for_writes")


# --------------------------------------------------------------------------- the middleware


def _key(session_key: str, full_path: str) -> str:
    return "page:" + blake2b(f"{session_key}\0{full_path}".encode(), digest_size=20).hexdigest()


def _minute() -> int:
    return int(time.time() // 60)


def _keepable(request, response, session_key: str) -> bool:
    return (
        response.status_code == 200
        and not response.streaming
        and all(name == settings.CSRF_COOKIE_NAME and morsel.value == request.COOKIES.get(name)
                for name, morsel in response.cookies.items())  # the CSRF cookie renewed, unchanged, is fine
        and request.user.is_authenticated
        and request.session.session_key == session_key
        and not request.session.modified
    )


class PageCacheMiddleware:
    """Goes before SessionMiddleware: a kept page is served without loading the session or the user."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
        if (not settings.PAGE_CACHE or request.method != "GET" or not session_key
                or CookieStorage.cookie_name in request.COOKIES or not _is_page_cached(request.path_info)):
            return self.get_response(request)
        key = _key(session_key, request.get_full_path())
        minute = _minute()
        try:
            found = _cache().get_many([GENERATION, key])
        except Exception:
            logger.warning("Page cache unreachable; rendering the page", exc_info=True)
            return self.get_response(request)
        generation = found.get(GENERATION)
        kept = found.get(key)
        if kept is not None and generation is not None and kept[0] == generation and kept[1] == minute:
            return _response(kept)
        response = self.get_response(request)
        if generation is None:
            new_generation()  # first use, or Redis was emptied: start one; this page waits for the next view
        elif _keepable(request, response, session_key):
            headers = [(name, response[name]) for name in _KEPT_HEADERS if name in response]
            try:
                _cache().set(key, (generation, minute, response.status_code, headers, response.content), timeout=120)
            except Exception:
                logger.warning("Could not keep a page in the page cache", exc_info=True)
        return response


def _response(kept) -> HttpResponse:
    _, _, status, headers, content = kept
    response = HttpResponse(content, status=status)
    for name, value in headers:
        response[name] = value
    return response
