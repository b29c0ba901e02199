"""The rows that pages repeat, read as values and prepared for their templates.

The ticket list shows up to a hundred tickets, the dashboard twenty-five events and the detail page
every event of a ticket. Building a model instance (and its requester's, assignee's and problem
source's) per row, reversing its URL, formatting its dates and looking up its labels in the template
cost more than everything else on those pages. Here each row is one tuple from the database, and
everything a template shows is computed once: strings for the dates, names and URLs, the badges'
HTML per status and priority. The templates keep the markup and escape every value.
"""

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

from django.urls import reverse
from django.utils import dateformat, formats, timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from accounts.models import display_name
from tickets.models import ProblemSource, Ticket
from tickets.timeline import choice_label

PRIORITY_ICONS = {3: "bi-arrow-up", 1: "bi-arrow-down"}


@lru_cache(maxsize=64)
def _status_badge(status: str, language: str | None) -> SafeString:
    label = choice_label(Ticket.Status, status)
    return format_html('<span class="badge status-badge status-{}">{}</span>', status, label)


@lru_cache(maxsize=64)
def _priority_badge(priority: int, language: str | None) -> SafeString:
    return format_html(
        '<span class="badge priority-badge priority-{}" title="{}"><i class="bi {}" aria-hidden="true"></i> {}</span>',
        priority,
        _("Priority"),
        PRIORITY_ICONS.get(priority, "bi-dash"),
        choice_label(Ticket.Priority, priority),
    )


def status_badge(status: str) -> SafeString:
    """A status as a coloured badge (CSS: status-<value>), drawn once per status and language."""
    return _status_badge(status, get_language())


def priority_badge(priority: int) -> SafeString:
    """A priority as a badge with an arrow: up for high, down for low."""
    return _priority_badge(priority, get_language())


class DateText:
    """Dates and times as the templates' ``date`` and ``time`` filters write them (in the reader's
    time zone and language), with each named format looked up once per page rather than per value."""

    def __init__(self):
        self._formats: dict[str, str] = {}

    def __call__(self, value: datetime | date, format_name: str) -> str:
        pattern = self._formats.get(format_name)
        if pattern is None:
            pattern = self._formats[format_name] = formats.get_format(format_name)
        if isinstance(value, datetime):
            value = timezone.localtime(value)
            if format_name == "TIME_FORMAT":
                return dateformat.time_format(value, pattern)
        return dateformat.format(value, pattern)


def detail_url(pk: int) -> str:
    return reverse("tickets:detail", args=[pk])


# --- The ticket list ------------------------------------------------------------------------------


@dataclass(slots=True)
class TicketRow:
    pk: int
    title: str
    url: str
    source: str
    is_overdue: bool
    status_badge: SafeString
    priority_badge: SafeString
    requester: str
    assignee: str  # "" for nobody
    updated: str  # short
    updated_full: str


LIST_COLUMNS = (
    "pk",
    "title",
    "status",
    "priority",
    "due_date",
    "updated_at",
    "problem_source__name_en",
    "problem_source__name_de",
    "requester__first_name",
    "requester__last_name",
    "requester__username",
    "assignee__first_name",
    "assignee__last_name",
    "assignee__username",
)


def ticket_rows(ids: list[int]) -> list[TicketRow]:
    """The list's rows for these tickets, in the order of ``ids``, in one query."""
    values = {row[0]: row for row in Ticket.objects.filter(pk__in=ids).values_list(*LIST_COLUMNS)}
    today = timezone.localdate()
    open_statuses = set(Ticket.Status.open_values())
    dates = DateText()
    german = (get_language() or "en").startswith("de")
    rows = []
    for pk in ids:
        if pk not in values:
            continue  # deleted between the two queries
        (_pk, title, status, priority, due, updated, name_en, name_de, *people) = values[pk]
        rows.append(
            TicketRow(
                pk=pk,
                title=title,
                url=detail_url(pk),
                source=ProblemSource.localised(name_en, name_de, german_reader=german),
                is_overdue=status in open_statuses and due is not None and due < today,
                status_badge=status_badge(status),
                priority_badge=priority_badge(priority),
                requester=display_name(*people[:3]),
                assignee=display_name(*people[3:]),
                updated=dates(updated, "SHORT_DATETIME_FORMAT"),
                updated_full=dates(updated, "DATETIME_FORMAT"),
            )
        )
    return rows
