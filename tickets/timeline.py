"""Human-readable labels for ticket events, in the reader's language, with a constant query count.

Events store machine values (status codes, user and node ids, ISO dates). For a page of events this
module loads the users and problem sources they mention in at most two queries.
"""

from datetime import date

from django.contrib.auth import get_user_model
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from tickets.models import ProblemSource, Ticket, TicketEvent

Kind = TicketEvent.Kind


def _choice_label(choices, value: str) -> str:
    try:
        return str(choices(int(value) if value.isdigit() else value).label)
    except ValueError:
        return value


def _ids(events, kind) -> set[int]:
    return {
        int(value)
        for event in events
        if event.kind == kind
        for value in (event.old_value, event.new_value)
        if value.isdigit()
    }


def label_events(events: list[TicketEvent]) -> list[TicketEvent]:
    """Set ``old_label`` and ``new_label`` on every event; returns the same list."""
    users = get_user_model().objects.in_bulk(_ids(events, Kind.ASSIGNMENT)) if events else {}
    source_ids = _ids(events, Kind.PROBLEM_SOURCE) | _ids(events, Kind.CREATED)
    sources = ProblemSource.objects.in_bulk(source_ids) if source_ids else {}

    def label(kind: str, value: str) -> str:
        if kind == Kind.STATUS:
            return _choice_label(Ticket.Status, value)
        if kind == Kind.PRIORITY:
            return _choice_label(Ticket.Priority, value)
        if kind == Kind.ASSIGNMENT:
            if not value:
                return _("nobody")
            user = users.get(int(value))
            return user.display_name if user else _("a deleted user")
        if kind in (Kind.PROBLEM_SOURCE, Kind.CREATED):
            source = sources.get(int(value)) if value.isdigit() else None
            return source.name if source else ""
        if kind == Kind.DUE_DATE:
            return date_format(date.fromisoformat(value), "SHORT_DATE_FORMAT") if value else _("none")
        return value

    for event in events:
        event.old_label = label(event.kind, event.old_value)
        event.new_label = label(event.kind, event.new_value)
    return events
