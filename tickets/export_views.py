"""CSV exports: the ticket list with its filters, and the analysis table.

Both stream their rows and use the same visible querysets as the pages (SECURITY.md C5).
"""

import csv
from collections.abc import Iterable, Iterator
from datetime import date, datetime

from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts.models import display_name
from tickets import problem_sources
from tickets.analysis_views import analysis_for, row_label, worth_showing
from tickets.known_issues import A_COLLEAGUE
from tickets.models import Ticket
from tickets.views import agent_required, filtered_tickets

EXPORT_CHUNK_SIZE = 2000
"""Rows the database cursor hands over at a time; the export never holds more than that."""
CSV_LINES_PER_CHUNK = 500
"""Rows per chunk of the HTTP response, so that 100,000 rows are not 100,000 tiny writes."""
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


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


def ticket_rows(tickets: QuerySet, *, viewer=None) -> Iterator[list]:
    """The header and one row per ticket, read from the database ``EXPORT_CHUNK_SIZE`` at a time.

    Labels and paths are looked up now, in the request's language and time zone, because the
    rows are produced later, while the response streams. For a ``viewer`` who is no agent, the
    requester of a ticket they are only affected by is not named (tickets.known_issues).
    """
    hidden_requester = None if viewer is None or viewer.is_agent else str(A_COLLEAGUE)
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
            columns = (*TICKET_COLUMNS, "requester_id")
            for row in tickets.values_list(*columns).iterator(chunk_size=EXPORT_CHUNK_SIZE):
                (pk, title, status, priority, source, r_first, r_last, r_user, a_first, a_last, a_user, *dates) = row
                *dates, requester_id = dates
                requester = display_name(r_first, r_last, r_user)
                if hidden_requester and requester_id != viewer.pk:
                    requester = hidden_requester
                created, updated, due, resolved, closed = dates
                yield [
                    pk,
                    title,
                    statuses.get(status, status),
                    priorities.get(priority, priority),
                    paths.get(source, ""),
                    requester,
                    display_name(a_first, a_last, a_user),
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
    return csv_response(ticket_rows(tickets, viewer=request.user), f"tickets-{timezone.localdate().isoformat()}.csv")


def _hours(seconds: float | None):
    return "" if seconds is None else round(seconds / 3600, 2)


def _rate(value: float | None):
    return "" if value is None else round(value * 100, 1)


@agent_required
@require_GET
def analysis_export(request):
    """The analysis table as CSV: one row for the node, one per child; durations in hours."""
    _form, _choice, result = analysis_for(request)
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
        if not worth_showing(row):
            continue
        figures = row.figures
        rows.append(
            [
                period.start.isoformat(),
                period.end.isoformat(),
                row_label(row),
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
