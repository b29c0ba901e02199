"""The rows that pages repeat, read as values and prepared for their templates.

The ticket list shows up to a hundred tickets, the dashboard twenty-five events and the detail page
every event of a ticket. Building a model instance (and its requester's, assignee's and problem
source's) per row, reversing its URL, formatting its dates and looking up its labels in the template
cost more than everything else on those pages. Here each row is one tuple from the database, and
everything a template shows is computed once: strings for the dates, names and URLs, the badges'
HTML per status and priority. The templates keep the markup and escape every value.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

from django.db.models import QuerySet, Value
from django.db.models.functions import Left
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
    time zone and language), for the many values of one page: each named format is looked up once,
    and what a format makes of a day (or of a time to the minute) is computed once per day (minute).
    """

    DAY_FORMATS = frozenset({"DATE_FORMAT", "SHORT_DATE_FORMAT"})
    MINUTE_FORMATS = frozenset({"TIME_FORMAT"})
    # Characters that read seconds or the date (time zone names and offsets change with DST): a time
    # format with one of them is not kept per minute.
    FINER_THAN_MINUTES = frozenset("sucUrOeTZI")

    def __init__(self):
        self._formats: dict[str, str] = {}
        self._done: dict[tuple, str] = {}
        self._zone = timezone.get_current_timezone()  # the reader's, as the filters use it

    def _pattern(self, format_name: str) -> str:
        pattern = self._formats.get(format_name)
        if pattern is None:
            pattern = self._formats[format_name] = formats.get_format(format_name)
        return pattern

    def __call__(self, value: datetime | date, format_name: str) -> str:
        if isinstance(value, datetime):
            value = value.astimezone(self._zone)
            if format_name == "c":
                return value.isoformat()
        pattern = self._pattern(format_name)
        if format_name in self.DAY_FORMATS:
            key = (format_name, value.year, value.month, value.day)
        elif format_name in self.MINUTE_FORMATS and not self.FINER_THAN_MINUTES & set(pattern):
            key = (format_name, value.hour, value.minute)
        else:
            key = None
        if key is not None and key in self._done:
            return self._done[key]
        if format_name in self.MINUTE_FORMATS:
            text = dateformat.time_format(value, pattern)
        else:
            text = dateformat.format(value, pattern)
        if key is not None:
            self._done[key] = text
        return text


def detail_url(pk: int) -> str:
    return reverse("tickets:detail", args=[pk])


# --- Tickets: the list, the queue, an employee's open tickets --------------------------------------


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
    due: str  # short; "" for none
    updated: str  # short
    updated_full: str
    team: str = ""  # the IT team's name; "" for none
    sla_state: str = ""  # the service level's next target: "breached", "soon" (2 hours), "running" or ""
    sla_due: str = ""  # its due time, short; "" for none (no policy, clock stopped, all met)


TICKET_COLUMNS = (
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
    "team__name",
    "sla_due_at",
)


def ticket_rows(tickets: QuerySet) -> list[TicketRow]:
    """The rows of these tickets (ordered and sliced as the page wants them), in one query."""
    today = timezone.localdate()
    open_statuses = set(Ticket.Status.open_values())
    dates = DateText()
    german = (get_language() or "en").startswith("de")
    now = timezone.now()
    rows = []
    for pk, title, status, priority, due, updated, name_en, name_de, *people, team, sla_due in tickets.values_list(
        *TICKET_COLUMNS
    ):
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
                due=dates(due, "SHORT_DATE_FORMAT") if due else "",
                updated=dates(updated, "SHORT_DATETIME_FORMAT"),
                updated_full=dates(updated, "DATETIME_FORMAT"),
                team=team or "",
                sla_state=sla_state(sla_due, now),
                sla_due=dates(sla_due, "SHORT_DATETIME_FORMAT") if sla_due else "",
            )
        )
    return rows


SLA_SOON = timedelta(hours=2)
"""A target due within this is "due soon": the list's filter, the badges, the dashboard."""


def sla_state(due: datetime | None, now: datetime) -> str:
    """A stored due time against the clock: no business time to compute per row."""
    if due is None:
        return ""
    if due < now:
        return "breached"
    return "soon" if due < now + SLA_SOON else "running"


def ticket_rows_by_id(ids: list[int]) -> list[TicketRow]:
    """The rows of these tickets in the order of ``ids`` (a page the list has chosen by id)."""
    position = {pk: index for index, pk in enumerate(ids)}
    return sorted(ticket_rows(Ticket.objects.filter(pk__in=ids)), key=lambda row: position[row.pk])


# --- Events: the dashboard's history and a ticket's timeline ---------------------------------------


@dataclass
class EventRow:
    """An event as the history and the timeline show it; ``tickets.timeline.label_events`` adds
    its labels, icon and sentence."""

    pk: int
    ticket_id: int
    kind: str
    old_value: str
    new_value: str
    is_internal: bool
    created_at: datetime
    actor_id: int | None
    actor_name: str
    comment: str  # the comment's body (the history: its first characters); "" for none
    comment_id: int | None
    attachment_id: int | None
    ticket_title: str = ""
    ticket_url: str = ""
    iso: str = ""
    short: str = ""
    full: str = ""
    day: str = ""
    time: str = ""


EVENT_COLUMNS = (
    "pk",
    "ticket_id",
    "kind",
    "old_value",
    "new_value",
    "is_internal",
    "created_at",
    "actor_id",
    "actor__first_name",
    "actor__last_name",
    "actor__username",
    "comment_id",
    "attachment_id",
)

EXCERPT_CHARS = 141
"""Of a comment, the history shows 140 characters at most (and an ellipsis if there are more)."""


def _event_row(values: tuple, comment: str | None) -> EventRow:
    (pk, ticket_id, kind, old, new, internal, created, actor_id, *actor, comment_id, attachment_id) = values
    return EventRow(
        pk=pk,
        ticket_id=ticket_id,
        kind=kind,
        old_value=old,
        new_value=new,
        is_internal=internal,
        created_at=created,
        actor_id=actor_id,
        actor_name=display_name(*actor),
        comment=comment or "",
        comment_id=comment_id,
        attachment_id=attachment_id,
    )


def _event_rows(events: QuerySet, *extra, viewer=None):
    """(row, its ``extra`` column values) for each event, in one query; the row's comment text is
    the last extra column. For a ``viewer`` who is no agent, people other than them and IT staff are
    not named: someone who filed a known issue the viewer is affected by, or whose ticket IT merged
    into the viewer's (see tickets.known_issues)."""
    from tickets.known_issues import A_COLLEAGUE, actor_is_staff

    hide_people = viewer is not None and not viewer.is_agent
    staff = actor_is_staff() if hide_people else Value(True)
    for *values, is_staff in events.values_list(*EVENT_COLUMNS, *extra, staff):
        columns, more = values[: len(EVENT_COLUMNS)], values[len(EVENT_COLUMNS) :]
        row = _event_row(columns, more[-1])
        if hide_people and row.actor_id not in (None, viewer.pk) and not is_staff:
            row.actor_name = str(A_COLLEAGUE)
        yield row, more


def history_rows(events: QuerySet, *, viewer=None) -> list[EventRow]:
    """Rows of a page of the dashboard's history (``events`` ordered and sliced), in one query;
    names hidden from a ``viewer`` who is no agent as :func:`_event_rows` says."""
    dates = DateText()
    rows = []
    for row, (title, _excerpt) in _event_rows(
        events, "ticket__title", Left("comment__body", EXCERPT_CHARS), viewer=viewer
    ):
        row.ticket_title, row.ticket_url = title, detail_url(row.ticket_id)
        row.iso, row.short, row.full = (
            dates(row.created_at, "c"),
            dates(row.created_at, "SHORT_DATETIME_FORMAT"),
            dates(row.created_at, "DATETIME_FORMAT"),
        )
        rows.append(row)
    return rows


def timeline_rows(events: QuerySet, *, viewer=None) -> list[EventRow]:
    """Rows of a ticket's timeline (``events`` in the timeline's order), in one query; names hidden
    from a ``viewer`` who is no agent as :func:`_event_rows` says."""
    dates = DateText()
    rows = []
    for row, _body in _event_rows(events, "comment__body", viewer=viewer):
        row.iso, row.day, row.time = (
            dates(row.created_at, "c"),
            dates(row.created_at, "DATE_FORMAT"),
            dates(row.created_at, "TIME_FORMAT"),
        )
        rows.append(row)
    return rows
