"""Human-readable ticket events, in the reader's language, with a constant query count.

Events store machine values (status codes, user and node ids, ISO dates). For a page of events this
module loads the users and problem sources they mention in at most two queries, and composes each
event's icon and sentence here rather than in a template: the detail page shows every event of a
ticket, and a template include per event cost more than everything else on it.
"""

from datetime import date

from django.contrib.auth import get_user_model
from django.db.models import Value
from django.template.defaultfilters import filesizeformat
from django.utils.formats import date_format
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import display_name
from accounts.roles import NAME_FIELDS
from tickets.markdown import render_markdown
from tickets.models import ProblemSource, Team, Ticket, TicketEvent

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
    user_ids = _ids(events, Kind.ASSIGNMENT) | _ids(events, Kind.AFFECTED)
    people = get_user_model().objects.filter(pk__in=user_ids).values_list(*NAME_FIELDS) if user_ids else ()
    names = {pk: display_name(first, last, username) for pk, username, first, last in people}
    source_ids = _ids(events, Kind.PROBLEM_SOURCE) | _ids(events, Kind.CREATED)
    sources, teams = _sources_and_teams(source_ids, _ids(events, Kind.TEAM))

    def label(kind: str, value: str) -> str:
        if kind == Kind.STATUS:
            return choice_label(Ticket.Status, value)
        if kind == Kind.PRIORITY:
            return choice_label(Ticket.Priority, value)
        if kind in (Kind.DUPLICATE, Kind.MERGED):
            return f"#{value}" if value else ""
        if kind in (Kind.ASSIGNMENT, Kind.AFFECTED):
            if not value:
                return _("nobody")
            return names.get(int(value)) or _("a deleted user")
        if kind in (Kind.PROBLEM_SOURCE, Kind.CREATED):
            source = sources.get(int(value)) if value.isdigit() else None
            return source.name if source else ""
        if kind == Kind.RATING and value:
            return _("solved") if value == "up" else _("not solved")
        if kind == Kind.TEAM:
            if not value:
                return _("no team")
            return teams.get(int(value), _("a deleted team"))
        if kind == Kind.DUE_DATE:
            return date_format(date.fromisoformat(value), "SHORT_DATE_FORMAT") if value else _("none")
        if kind in (Kind.SLA_WARNING, Kind.SLA_BREACH):
            return str(SLA_TARGETS.get(value, value))
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
        if event.kind == Kind.RATING and event.new_value == "down":
            event.icon = "bi-hand-thumbs-down text-bg-danger"
        wording = (event.kind, bool(event.new_value))
        if wording not in sentences:
            sentences[wording] = _sentence_template(*wording)
        event.sentence = _compose(sentences[wording], event, event.actor_name if event.actor_id else system)
    return events


def _sources_and_teams(source_ids: set[int], team_ids: set[int]) -> tuple[dict, dict[int, str]]:
    """The problem sources and the team names the events mention, in one query (a UNION when there
    are teams), so routed tickets cost the pages no extra query."""
    if not team_ids:
        return (ProblemSource.objects.in_bulk(source_ids) if source_ids else {}), {}
    nodes = ProblemSource.objects.filter(pk__in=source_ids).order_by()
    names = Team.objects.filter(pk__in=team_ids).order_by()
    nodes = nodes.values_list(Value("s"), "pk", "name_en", "name_de")
    names = names.values_list(Value("t"), "pk", "name", "name")
    sources, teams = {}, {}
    for kind, pk, name_en, name_de in nodes.union(names, all=True):
        if kind == "s":
            sources[pk] = ProblemSource(pk=pk, name_en=name_en, name_de=name_de)
        else:
            teams[pk] = name_en
    return sources, teams


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
    Kind.SELF_HELP: "bi-lightbulb text-bg-info",
    Kind.RATING: "bi-hand-thumbs-up text-bg-success",
    Kind.TEAM: "bi-people text-bg-info",
    Kind.SLA_WARNING: "bi-stopwatch text-bg-warning",
    Kind.SLA_BREACH: "bi-stopwatch text-bg-danger",
    Kind.KNOWN_ISSUE: "bi-megaphone text-bg-warning",
    Kind.AFFECTED: "bi-people text-bg-info",
    Kind.DUPLICATE: "bi-files text-bg-secondary",
    Kind.MERGED: "bi-union text-bg-secondary",
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
    Kind.SELF_HELP: gettext_lazy(
        "<strong>%(actor)s</strong> read the self-help article <em>%(name)s</em> first and still needed help"
    ),
    Kind.RATING: gettext_lazy("<strong>%(actor)s</strong> rated the solution: <strong>%(new)s</strong>"),
    Kind.TEAM: (
        gettext_lazy("<strong>%(actor)s</strong> handed the ticket to the team <strong>%(new)s</strong>"),
        gettext_lazy("<strong>%(actor)s</strong> took the ticket out of the team %(old)s"),
    ),
    Kind.SLA_WARNING: gettext_lazy("80 %% of the time for the <strong>%(new)s</strong> is used up"),
    Kind.SLA_BREACH: gettext_lazy("The service level for the <strong>%(new)s</strong> was breached"),
    Kind.KNOWN_ISSUE: (
        gettext_lazy("<strong>%(actor)s</strong> set the known-issue status: <em>%(new)s</em>"),
        gettext_lazy("<strong>%(actor)s</strong> ended the known issue"),
    ),
    Kind.AFFECTED: (
        gettext_lazy("<strong>%(new)s</strong> is affected too"),
        gettext_lazy("<strong>%(old)s</strong> is no longer affected"),
    ),
    Kind.DUPLICATE: (
        gettext_lazy("<strong>%(actor)s</strong> closed this ticket as a duplicate of <strong>%(new)s</strong>"),
        gettext_lazy("<strong>%(actor)s</strong> undid the merge into %(old)s"),
    ),
    Kind.MERGED: (
        gettext_lazy("<strong>%(actor)s</strong> merged ticket <strong>%(new)s</strong> into this one"),
        gettext_lazy("<strong>%(actor)s</strong> undid a merge into this ticket"),
    ),
}
SLA_TARGETS = {"first_response": gettext_lazy("first response"), "resolution": gettext_lazy("resolution")}


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


# --- Drawn in Python: a long ticket has a hundred entries, and a template per entry cost more than
# the rest of its page. The markup is ticket_detail.html's; every value put in is escaped.

FILE_ICONS = {"application/pdf": "bi-file-earmark-pdf", "text/plain": "bi-file-earmark-text"}


def attachment_chip(attachment) -> SafeString:
    """A file as a chip: a thumbnail for images, else an icon; its name and size; a link to it."""
    url = conditional_escape(attachment.get_absolute_url())
    name = conditional_escape(attachment.original_name)
    if attachment.is_image:
        picture = f'<img src="{url}" alt="" loading="lazy" width="48" height="48">'
    else:
        picture = f'<i class="bi {FILE_ICONS.get(attachment.content_type, "bi-file-earmark")}" aria-hidden="true"></i>'
    return mark_safe(  # noqa: S308 - every value is escaped
        f'<a class="attachment-chip" href="{url}" title="{conditional_escape(_("Download"))} {name}">\n'
        f"  {picture}\n"
        f'  <span class="attachment-name">{name}</span>\n'
        f'  <span class="attachment-size">{conditional_escape(filesizeformat(attachment.size))}</span>\n'
        "</a>"
    )


def _files(attachments) -> str:
    chips = "".join(attachment_chip(attachment) for attachment in attachments)
    return f'\n      <div class="timeline-footer d-flex flex-wrap gap-2">{chips}</div>'


def timeline_entries(events) -> SafeString:
    """The timeline's entries (events from ``label_events`` with their ``day``, ``time``, ``iso``,
    ``comment``, and ``files`` or ``attachment``; see tickets.views._timeline), a date label
    before each new day."""
    internal_badge = (
        ' <span class="badge text-bg-warning ms-1"><i class="bi bi-eye-slash" aria-hidden="true"></i> '
        f"{conditional_escape(_('Internal – not visible to the requester'))}</span>"
    )
    internal_class = ' class="timeline-internal"'
    parts = []
    day = None
    for event in events:
        if event.day != day:
            day = event.day
            parts.append(
                f'\n  <div class="time-label"><span class="bg-body-secondary border">{escape(day)}</span></div>'
            )
        if event.comment:
            body = f'\n      <div class="timeline-body markdown">{render_markdown(event.comment)}</div>'
            if getattr(event, "files", None):
                body += _files(event.files)
        elif event.kind == Kind.ATTACHMENT and event.attachment:
            body = _files([event.attachment])
        else:
            body = ""
        help_link = getattr(event, "help_link", None)  # (url, node name): IT may turn a reply into self-help
        if help_link:
            text = _("Turn this answer into help for %(node)s") % {"node": help_link[1]}
            body += (
                f'\n      <div class="timeline-footer"><a class="small" href="{escape(help_link[0])}">'
                f'<i class="bi bi-lightbulb" aria-hidden="true"></i> {escape(text)}</a></div>'
            )
        parts.append(
            f'\n  <div id="event-{int(event.pk)}"{internal_class if event.is_internal else ""}>'
            f'\n    <i class="timeline-icon bi {escape(event.icon)}" aria-hidden="true"></i>'
            f'\n    <div class="timeline-item{"" if event.comment else " timeline-item-compact"}">'
            f'\n      <time class="time" datetime="{escape(event.iso)}"><i class="bi bi-clock" aria-hidden="true"></i> '
            f"{escape(event.time)}</time>"
            f'\n      <h3 class="timeline-header">{event.sentence}{internal_badge if event.is_internal else ""}</h3>'
            f"{body}\n    </div>\n  </div>"
        )
    return mark_safe("".join(parts))  # noqa: S308 - every value is escaped; sentences and Markdown are safe HTML
