"""Choosing a problem source among hundreds, for IT staff's filters and re-categorising.

The JSON search backs the search-as-you-type widget (tickets.widgets); the browse page is the same
choice without JavaScript: it walks the tree and sends the chosen node back to the page it came from.
"""

from urllib.parse import urlencode, urlsplit, urlunsplit

from django.http import JsonResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET

from tickets import problem_sources
from tickets.models import ProblemSource
from tickets.views import agent_required

FIELDS = ("source", "problem_source")  # the query parameters a choice may be sent back in
PATH_SEPARATOR = " › "


@agent_required
@require_GET
def source_search(request):
    matches = problem_sources.search_nodes(request.GET.get("q", "")[:100])
    return JsonResponse(
        {
            "results": [
                {"id": node.pk, "path": PATH_SEPARATOR.join(step.name for step in path), "active": node.is_active}
                for node, path in matches
            ]
        }
    )


def _return_url(request) -> str:
    """Where the choice goes back to: ``next`` or the referring page of this site, else the list."""
    for candidate in (request.GET.get("next", ""), request.headers.get("Referer", "")):
        if candidate and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            parts = urlsplit(candidate)
            return urlunsplit(("", "", parts.path, parts.query, ""))
    return "/tickets/"


def _with_choice(url: str, field: str, value) -> str:
    parts = urlsplit(url)
    query = [(key, item) for key, item in _query_pairs(parts.query) if key not in (field, "page")]
    if value is not None:
        query.append((field, str(value)))
    return urlunsplit(("", "", parts.path, urlencode(query), ""))


def _query_pairs(query: str):
    return [(key, item) for key, items in QueryDict(query).lists() for item in items]


@agent_required
@require_GET
def source_browse(request):
    field = request.GET.get("field") if request.GET.get("field") in FIELDS else FIELDS[0]
    back = _return_url(request)
    if request.GET.get("choose", "").isdecimal():
        chosen = get_object_or_404(ProblemSource, pk=request.GET["choose"])
        return redirect(_with_choice(back, field, chosen.pk))
    if request.GET.get("choose") == "none":
        return redirect(_with_choice(back, field, None))
    node = None
    if request.GET.get("node", "").isdecimal():
        node = get_object_or_404(ProblemSource, pk=request.GET["node"])
    context = {
        "level": problem_sources.browse_level(node),
        "field": field,
        "back_url": back,
        "base_query": urlencode({"field": field, "next": back}),
    }
    return render(request, "tickets/problem_source_browse.html", context)
