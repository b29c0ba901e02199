"""Reporting pages: the analysis by problem source, CSV exports and saved ticket lists.

The analysis figures come from :mod:`tickets.analysis`; every figure links to the ticket list with
the filters that select exactly the tickets it counts. The CSV exports stream their rows and use
the same visible querysets as the pages (SECURITY.md C5).
"""

import csv
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from functools import partial
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import QueryDict, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from tickets import analysis, problem_sources
from tickets.forms import AnalysisForm, SavedTicketFilterForm
from tickets.models import ProblemSource, SavedTicketFilter, Ticket
from tickets.views import agent_required, filtered_tickets

EXPORT_CHUNK_SIZE = 2000
"""Rows the database cursor hands over at a time; the export never holds more than that."""
CSV_LINES_PER_CHUNK = 500
"""Rows per chunk of the HTTP response, so that 100,000 rows are not 100,000 tiny writes."""
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


# --- Links to the ticket list ---------------------------------------------------------------------


def _with_query(path: str, **params) -> str:
    return f"{path}?{urlencode({k: v for k, v in params.items() if v is not None})}"


def _list_links():
    """A function that makes links to the ticket list: reverse() once, not for each of the hundreds
    of links of the page (it cost 15 ms per page)."""
    return partial(_with_query, reverse("tickets:list"))


def _days(first: date, last: date, *, created: bool = True) -> dict[str, str]:
    names = ("created_from", "created_to") if created else ("resolved_from", "resolved_to")
    return dict(zip(names, (first.isoformat(), last.isoformat()), strict=True))


def figure_links(node: ProblemSource | None, period: analysis.Period, *, exact: bool = False) -> dict[str, str]:
    """For each figure of a row, the ticket list that shows exactly the tickets behind it."""
    link = _list_links()
    base = {"source": node.pk if node else None, "filed_on": "exact" if exact else None}
    previous = period.previous()
    opened = _days(period.start, period.end)
    opened_before = _days(previous.start, previous.end)
    finished = _days(period.start, period.end, created=False)
    finished_before = _days(previous.start, previous.end, created=False)
    return {
        "opened": link(**base, **opened),
        "opened_previous": link(**base, **opened_before),
        "closed": link(**base, **finished),
        "closed_previous": link(**base, **finished_before),
        "backlog": link(**base, status="open"),
        "unassigned": link(**base, status="open", assignee="none"),
        "response": link(**base, **opened, responded="yes"),
        "response_previous": link(**base, **opened_before, responded="yes"),
        "without_response": link(**base, **opened, responded="no"),
        "resolution": link(**base, **finished),
        "resolution_previous": link(**base, **finished_before),
        "reopened": link(**base, **opened, reopened="yes"),
        "reopened_previous": link(**base, **opened_before, reopened="yes"),
        # Tickets directly on an inner node are all on a general topic: the exact filter says it.
        "general_topic": link(**{**base, **opened, "filed_on": "exact" if exact else "general"}),
    }


# --- The analysis page ----------------------------------------------------------------------------


def _analysis_for(request) -> tuple[AnalysisForm, str, analysis.Analysis]:
    form = AnalysisForm(request.GET or None)
    if form.is_bound:
        form.is_valid()  # errors are shown; the default period stands in for an invalid one
    choice, period = form.get_period(timezone.localdate())
    node = form.cleaned_data.get("source") if form.is_bound and hasattr(form, "cleaned_data") else None
    result = analysis.analyse(tickets=Ticket.objects.visible_to(request.user), node=node, period=period)
    return form, choice, result


def _worth_showing(row: analysis.Row) -> bool:
    """Retired children appear while they still have tickets to count."""
    if row.kind != "child" or row.node.is_active:
        return True
    figures = row.figures
    return bool(figures.opened or figures.closed or figures.backlog or figures.opened_previous)


def _period_params(choice: str, period: analysis.Period) -> dict[str, str]:
    if choice == "custom":
        return {"period": choice, "start": period.start.isoformat(), "end": period.end.isoformat()}
    return {"period": choice}


def _chart_data(result: analysis.Analysis, rows: list[analysis.Row], week_links, histogram_links) -> dict:
    """What static/js/analysis.js draws, handed over with json_script (CSP allows no inline script)."""
    opened_urls, closed_urls = week_links
    children = sorted((row for row in rows if row.kind != "total"), key=lambda row: -row.figures.opened)
    return {
        "weeks": {
            "labels": [formats.date_format(week.monday, "MONTH_DAY_FORMAT") for week in result.weeks],
            "opened": [week.opened for week in result.weeks],
            "closed": [week.closed for week in result.weeks],
            "openedUrls": opened_urls,
            "closedUrls": closed_urls,
        },
        "children": {
            "labels": [row.label for row in children],
            "values": [row.figures.opened for row in children],
            "urls": [row.links["opened"] for row in children],
        },
        "resolution": {
            "labels": [str(resolution_bin.label) for resolution_bin, _count, _url in histogram_links],
            "values": [count for _bin, count, _url in histogram_links],
            "urls": [url for _bin, _count, url in histogram_links],
        },
        "text": {"opened": _("Opened"), "closed": _("Resolved or closed"), "tickets": _("Tickets")},
    }


def _row_label(row: analysis.Row) -> str:
    if row.kind == "direct":
        return _("Directly on “%(name)s”") % {"name": row.node.name}
    return row.node.name if row.node else _("All problem sources")


@agent_required
@require_GET
def analysis_page(request):
    form, choice, result = _analysis_for(request)
    rows = [row for row in result.rows if _worth_showing(row)]
    for row in rows:
        row.label = _row_label(row)
        row.links = figure_links(row.node, result.period, exact=row.kind == "direct")
    total_links = rows[0].links
    node_query = {"source": result.node.pk} if result.node else {}
    period_params = _period_params(choice, result.period)
    previous = result.previous
    histogram_links = [
        (resolution_bin, count, f"{total_links['closed']}&{urlencode({'resolution': resolution_bin.key})}")
        for resolution_bin, count in result.histogram
    ]
    week_links = _week_links(result)
    context = {
        "form": form,
        "choice": choice,
        "periods": [
            (value, label, urlencode({"period": value, **node_query}))
            for value, label in AnalysisForm.PERIODS
            if value != "custom"
        ],
        "period_query": urlencode(period_params),
        "export_query": urlencode({**period_params, **node_query}),
        "result": result,
        "total": result.total,
        "previous": previous,
        "links": total_links,
        "rows": rows,
        "trends": {
            "opened": analysis.trend(result.total.opened, previous.opened),
            "closed": analysis.trend(result.total.closed, previous.closed),
            "response": analysis.trend(result.total.response_median, previous.response_median),
            "resolution": analysis.trend(result.total.resolution_median, previous.resolution_median),
            "reopen": analysis.trend(result.total.reopen_rate, previous.reopen_rate),
        },
        "histogram": histogram_links,
        "weeks": list(zip(result.weeks, *week_links, strict=True)),
        "chart_data": _chart_data(result, rows, week_links, histogram_links),
    }
    return render(request, "tickets/analysis.html", context)


def _week_links(result: analysis.Analysis) -> tuple[list[str], list[str]]:
    source = {"source": result.node.pk} if result.node else {}
    link = _list_links()
    opened, closed = [], []
    for week in result.weeks:
        first = max(week.monday, result.period.start)
        last = min(week.monday + timedelta(days=6), result.period.end)
        opened.append(link(**source, **_days(first, last)))
        closed.append(link(**source, **_days(first, last, created=False)))
    return opened, closed


# --- CSV ------------------------------------------------------------------------------------------


class _Echo:
    """csv.writer writes each row into this and hands back the formatted line."""

    def write(self, value: str) -> str:
        return value


def neutralise(cell):
    """Spreadsheets run a cell that starts with = + - @ (or tab/CR) as a formula; a leading quote
    makes it text. Only text cells: numbers and dates are written by us and never start so."""
    if isinstance(cell, str) and cell.startswith(FORMULA_PREFIXES):
        return "'" + cell
    return cell


def csv_lines(rows: Iterable[Iterable]) -> Iterator[bytes]:
    """UTF-8 with a byte-order mark (so Excel picks the encoding), in chunks of lines."""
    writer = csv.writer(_Echo())
    yield "\ufeff".encode()
    buffer = []
    for row in rows:
        buffer.append(writer.writerow([neutralise(cell) for cell in row]))
        if len(buffer) >= CSV_LINES_PER_CHUNK:
            yield "".join(buffer).encode()
            buffer = []
    if buffer:
        yield "".join(buffer).encode()


def csv_response(rows: Iterable[Iterable], filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(csv_lines(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


def _iso(moment: datetime | date | None) -> str:
    if moment is None:
        return ""
    if isinstance(moment, datetime):
        return timezone.localtime(moment).isoformat(timespec="seconds")
    return moment.isoformat()


def _person(first_name: str | None, last_name: str | None, username: str | None) -> str:
    # User.display_name (full name, else username), from values() rather than model instances.
    return f"{first_name or ''} {last_name or ''}".strip() or (username or "")


TICKET_COLUMNS = (
    "pk",
    "title",
    "status",
    "priority",
    "problem_source_id",
    "requester__first_name",
    "requester__last_name",
    "requester__username",
    "assignee__first_name",
    "assignee__last_name",
    "assignee__username",
    "created_at",
    "updated_at",
    "due_date",
    "resolved_at",
    "closed_at",
)


def ticket_rows(tickets: QuerySet) -> Iterator[list]:
    """The header and one row per ticket, read from the database ``EXPORT_CHUNK_SIZE`` at a time.

    Labels and paths are looked up now, in the request's language and time zone, because the
    rows are produced later, while the response streams.
    """
    statuses = {value: str(label) for value, label in Ticket.Status.choices}
    priorities = {value: str(label) for value, label in Ticket.Priority.choices}
    paths = problem_sources.display_paths()
    header = [
        _("Number"),
        _("Title"),
        _("Status"),
        _("Priority"),
        _("Problem source"),
        _("Requester"),
        _("Responsible"),
        _("Created"),
        _("Updated"),
        _("Due date"),
        _("Resolved"),
        _("Closed"),
    ]
    tz = timezone.get_current_timezone()

    def rows():
        yield header
        with timezone.override(tz):
            for row in tickets.values_list(*TICKET_COLUMNS).iterator(chunk_size=EXPORT_CHUNK_SIZE):
                (pk, title, status, priority, source, r_first, r_last, r_user, a_first, a_last, a_user, *dates) = row
                created, updated, due, resolved, closed = dates
                yield [
                    pk,
                    title,
                    statuses.get(status, status),
                    priorities.get(priority, priority),
                    paths.get(source, ""),
                    _person(r_first, r_last, r_user),
                    _person(a_first, a_last, a_user),
                    _iso(created),
                    _iso(updated),
                    _iso(due),
                    _iso(resolved),
                    _iso(closed),
                ]

    return rows()


@login_required
@require_GET
def ticket_export(request):
    """The ticket list as CSV, with the list's filters and order and the user's visibility."""
    _form, tickets = filtered_tickets(request)
    return csv_response(ticket_rows(tickets), f"tickets-{timezone.localdate().isoformat()}.csv")


def _hours(seconds: float | None):
    return "" if seconds is None else round(seconds / 3600, 2)


def _rate(value: float | None):
    return "" if value is None else round(value * 100, 1)


@agent_required
@require_GET
def analysis_export(request):
    """The analysis table as CSV: one row for the node, one per child; durations in hours."""
    _form, _choice, result = _analysis_for(request)
    period = result.period
    header = [
        _("From"),
        _("Until"),
        _("Problem source"),
        _("Opened"),
        _("Opened in the previous period"),
        _("Resolved or closed"),
        _("Open now"),
        _("Unassigned now"),
        _("Median first response (hours)"),
        _("90th percentile first response (hours)"),
        _("Without agent response"),
        _("Median resolution time (hours)"),
        _("90th percentile resolution time (hours)"),
        _("Reopened"),
        _("Reopen rate (%)"),
        _("Filed on a general topic"),
        _("Share filed on a general topic (%)"),
    ]
    rows = [header]
    for row in result.rows:
        if not _worth_showing(row):
            continue
        figures = row.figures
        rows.append(
            [
                period.start.isoformat(),
                period.end.isoformat(),
                _row_label(row),
                figures.opened,
                figures.opened_previous,
                figures.closed,
                figures.backlog,
                figures.unassigned,
                _hours(figures.response_median),
                _hours(figures.response_p90),
                figures.without_response,
                _hours(figures.resolution_median),
                _hours(figures.resolution_p90),
                figures.reopened,
                _rate(figures.reopen_rate),
                figures.on_general_topic,
                _rate(figures.general_topic_share),
            ]
        )
    slug = slugify(result.node.name_en) if result.node else "all"
    return csv_response(rows, f"analysis-{slug or 'node'}-{period.start.isoformat()}-{period.end.isoformat()}.csv")


# --- Saved ticket lists ---------------------------------------------------------------------------


@agent_required
@require_GET
def saved_filter_list(request):
    saved = SavedTicketFilter.objects.visible_to(request.user).select_related("owner")
    return render(request, "tickets/saved_filters.html", {"saved_filters": saved})


@agent_required
@require_POST
def saved_filter_create(request):
    form = SavedTicketFilterForm(request.POST, owner=request.user)
    if form.is_valid() and (saved := form.save_unless_taken()):
        messages.success(request, _("The list “%(name)s” was saved.") % {"name": saved.name})
        return redirect(saved)
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)
    # Back to the same list; the query is re-encoded, so nothing but a query string goes back.
    query = QueryDict(request.POST.get("query", "")[:2000]).urlencode()
    return redirect(f"{reverse('tickets:list')}?{query}" if query else reverse("tickets:list"))


@agent_required
@require_POST
def saved_filter_delete(request, pk: int):
    saved = get_object_or_404(SavedTicketFilter.objects.filter(owner=request.user), pk=pk)
    saved.delete()
    messages.success(request, _("The list “%(name)s” was deleted.") % {"name": saved.name})
    return redirect("tickets:saved")
