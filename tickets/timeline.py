"""Human-readable ticket events, in the reader's language, with a constant query count.

Events store machine values (status codes, user and node ids, ISO dates). For a page of events this
module loads the users and problem sources they mention in at most two queries, and composes each
event's icon and sentence here rather than in a template: the detail page shows every event of a
ticket, and a template include per event cost more than everything else on it.
"""

from datetime import date

from django.contrib.auth import get_user_model
from django.utils.formats import date_format
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tickets.models import ProblemSource, Ticket, TicketEvent

Kind = TicketEvent.Kind


def choice_label(choices, value: str | int) -> str:
    """A choice's label by enum lookup, for stored values (events keep "3") and field values (3) alike;
    unknown values as they are. Cheaper than get_FOO_display(), which hashes every lazy label per call."""
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


def _ids(events, kind) -> set[int]:
    return {
        int(value)
        for event in events
        if event.kind == kind
        for value in (event.old_value, event.new_value)
        if value.isdigit()
    }


def label_events(events: list) -> list:
    """Set ``old_label``, ``new_label``, ``icon`` and ``sentence`` on every event; returns the same list.

    The events are TicketEvents or rows with the same fields and an ``actor_name`` (tickets.rows)."""
    users = get_user_model().objects.in_bulk(_ids(events, Kind.ASSIGNMENT)) if events else {}
    source_ids = _ids(events, Kind.PROBLEM_SOURCE) | _ids(events, Kind.CREATED)
    sources = ProblemSource.objects.in_bulk(source_ids) if source_ids else {}

    def label(kind: str, value: str) -> str:
        if kind == Kind.STATUS:
            return choice_label(Ticket.Status, value)
        if kind == Kind.PRIORITY:
            return choice_label(Ticket.Priority, value)
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

    # A long history repeats the same few values and sentences: each is looked up once per call.
    labels: dict[tuple[str, str], str] = {}
    sentences: dict[tuple[str, bool], str] = {}
    system = _("The system")
    for event in events:
        for value in (event.old_value, event.new_value):
            if (event.kind, value) not in labels:
                labels[event.kind, value] = label(event.kind, value)
        event.old_label = labels[event.kind, event.old_value]
        event.new_label = labels[event.kind, event.new_value]
        event.icon = ICONS.get(event.kind, DEFAULT_ICON)
        wording = (event.kind, bool(event.new_value))
        if wording not in sentences:
            sentences[wording] = _sentence_template(*wording)
        event.sentence = _compose(sentences[wording], event, event.actor_name if event.actor_id else system)
    return events


# Bootstrap Icons name and colour of each kind of event.
ICONS = {
    Kind.CREATED: "bi-flag text-bg-primary",
    Kind.STATUS: "bi-arrow-repeat text-bg-success",
    Kind.ASSIGNMENT: "bi-person-check text-bg-info",
    Kind.PRIORITY: "bi-exclamation-diamond text-bg-danger",
    Kind.PROBLEM_SOURCE: "bi-diagram-3 text-bg-secondary",
    Kind.DUE_DATE: "bi-calendar-event text-bg-secondary",
    Kind.COMMENT: "bi-chat-left-text text-bg-primary",
    Kind.INTERNAL_NOTE: "bi-lock-fill text-bg-warning",
}
DEFAULT_ICON = "bi-paperclip text-bg-secondary"

# What happened, by kind; the second form where the new value is empty (a removal). The markup is
# ours; every value put in is escaped.
SENTENCES = {
    Kind.CREATED: gettext_lazy("<strong>%(actor)s</strong> filed the ticket under <em>%(source)s</em>"),
    Kind.STATUS: gettext_lazy("<strong>%(actor)s</strong> changed the status from %(old)s to <strong>%(new)s</strong>"),
    Kind.ASSIGNMENT: (
        gettext_lazy("<strong>%(actor)s</strong> made <strong>%(new)s</strong> responsible"),
        gettext_lazy("<strong>%(actor)s</strong> removed %(old)s as responsible"),
    ),
    Kind.PRIORITY: gettext_lazy(
        "<strong>%(actor)s</strong> changed the priority from %(old)s to <strong>%(new)s</strong>"
    ),
    Kind.PROBLEM_SOURCE: gettext_lazy(
        "<strong>%(actor)s</strong> moved the ticket from <em>%(old)s</em> to <em>%(new)s</em>"
    ),
    Kind.DUE_DATE: (
        gettext_lazy("<strong>%(actor)s</strong> set the due date to <strong>%(new)s</strong>"),
        gettext_lazy("<strong>%(actor)s</strong> removed the due date"),
    ),
    Kind.COMMENT: gettext_lazy("<strong>%(actor)s</strong> replied"),
    Kind.INTERNAL_NOTE: gettext_lazy("<strong>%(actor)s</strong> wrote an internal note"),
    Kind.ATTACHMENT: gettext_lazy("<strong>%(actor)s</strong> attached <em>%(name)s</em>"),
}


def _sentence_template(kind: str, has_new_value: bool) -> str:
    """The sentence of this kind of event in the reader's language; "" for an unknown kind."""
    template = SENTENCES.get(kind)
    if template is None:
        return ""
    if isinstance(template, tuple):
        template = template[0] if has_new_value else template[1]
    return str(template)


def _compose(template: str, event, actor: str) -> SafeString:
    values = {
        "actor": actor,
        "old": event.old_label,
        "new": event.new_label,
        "source": event.new_label,
        "name": event.new_value,
    }
    return mark_safe(template % {key: conditional_escape(value) for key, value in values.items()})  # noqa: S308
