"""Instruments for ``bench/run`` only: they are switched on by ``bench/settings.py``, never in production."""

from contextlib import ExitStack

from django.db import connections
from django.http import HttpResponse
from django.views.decorators.http import require_GET


class QueryCountMiddleware:
    """Add an ``X-Query-Count`` header: the database queries this request ran, session and user included.

    Outermost in the middleware stack so that it also counts what the other middleware does.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        count = 0

        def counter(execute, sql, params, many, context):
            nonlocal count
            count += 1
            return execute(sql, params, many, context)

        with ExitStack() as stack:
            for connection in connections.all():
                stack.enter_context(connection.execute_wrapper(counter))
            response = self.get_response(request)
        response["X-Query-Count"] = str(count)
        return response


@require_GET
def floor(request):
    """The framework floor: the cheapest response the full middleware stack can give."""
    return HttpResponse("ok", content_type="text/plain")
