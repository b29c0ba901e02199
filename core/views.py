import logging
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core.models import Heartbeat
from teams_app.models import Notification

logger = logging.getLogger(__name__)

OK, UNAVAILABLE, NOT_CONFIGURED = "ok", "unavailable", "not configured"


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return OK


def _cache() -> str:
    cache.set("healthz", "1", timeout=10)
    return OK if cache.get("healthz") == "1" else UNAVAILABLE


def _redis() -> str:
    """Redis itself (huey's queue), also when the cache is not on it."""
    url = settings.HUEY.get("connection", {}).get("url") if isinstance(settings.HUEY, dict) else None
    if not url:
        return NOT_CONFIGURED
    import redis

    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    try:
        return OK if client.ping() else UNAVAILABLE
    finally:
        client.close()


def _check(name: str, probe) -> str:
    try:
        return probe()
    except Exception:  # any failure means "not ready"; the reason goes to the log
        logger.warning("Health check: %s is unavailable", name, exc_info=True)
        return UNAVAILABLE


@never_cache
@require_GET
def health(request):
    """Readiness for load balancers and compose: JSON with each part's state, 200 or 503.

    503 when the database, the cache or Redis (if configured) does not answer; and, with
    HEALTH_REQUIRE_WORKERS, when the worker's or the scheduler's heartbeat is missing or older than
    HEALTH_HEARTBEAT_MAX_AGE seconds, or when notifications have waited for delivery (or been
    "sending") longer than HEALTH_OUTBOX_MAX_AGE seconds: ``outbox_stuck`` counts them. Ages are in
    whole seconds, null when there was no beat yet.
    """
    report = {
        "database": _check("database", _database),
        "cache": _check("cache", _cache),
        "redis": _check("redis", _redis),
        "worker_heartbeat_age": None,
        "scheduler_heartbeat_age": None,
        "outbox_stuck": None,
    }
    if report["database"] == OK:
        try:
            ages = Heartbeat.ages("worker", "scheduler")
            report["outbox_stuck"] = Notification.objects.stuck(
                older_than=timedelta(seconds=settings.HEALTH_OUTBOX_MAX_AGE)
            ).count()
        except Exception:  # e.g. migrations not applied yet
            logger.warning("Health check: heartbeats or outbox unreadable", exc_info=True)
            ages = {}
        for name in ("worker", "scheduler"):
            age = ages.get(name)
            report[f"{name}_heartbeat_age"] = round(age) if age is not None else None
    healthy = all(report[part] in (OK, NOT_CONFIGURED) for part in ("database", "cache", "redis"))
    if settings.HEALTH_REQUIRE_WORKERS:
        limit = settings.HEALTH_HEARTBEAT_MAX_AGE
        healthy = healthy and all(
            report[key] is not None and report[key] <= limit
            for key in ("worker_heartbeat_age", "scheduler_heartbeat_age")
        )
        healthy = healthy and report["outbox_stuck"] == 0
    return JsonResponse({"status": OK if healthy else UNAVAILABLE, **report}, status=200 if healthy else 503)


def bad_request(request, exception=None):
    """The 400 page (handler400); a request too large to read says which limit it hit, as 413.

    Django refuses such a body before any view runs, so the form cannot be shown again: the page
    says so, and static/js/app.js warns before sending files over the limit.
    """
    if isinstance(exception, RequestDataTooBig):
        limit = _("The text fields of a form may hold at most %(limit)s together.") % {
            "limit": filesizeformat(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        }
        return render(request, "413.html", {"limit": limit}, status=413)
    if isinstance(exception, TooManyFilesSent):
        limit = _("A form may send at most %(count)d files.") % {"count": settings.DATA_UPLOAD_MAX_NUMBER_FILES}
        return render(request, "413.html", {"limit": limit}, status=413)
    if isinstance(exception, TooManyFieldsSent):
        limit = _("A form may send at most %(count)d fields.") % {"count": settings.DATA_UPLOAD_MAX_NUMBER_FIELDS}
        return render(request, "413.html", {"limit": limit}, status=413)
    return render(request, "400.html", status=400)
