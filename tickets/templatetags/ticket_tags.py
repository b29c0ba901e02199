from django import template
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from tickets import rows, timeline
from tickets.markdown import render_markdown
from tickets.sidebar import AgentSidebar, agent_sidebar

register = template.Library()


@register.filter
def status_badge(ticket) -> str:
    """The ticket's status as a coloured badge (see tickets.rows, which draws the lists' badges)."""
    return rows.status_badge(ticket.status)


@register.filter
def priority_badge(ticket) -> str:
    """The ticket's priority as a badge with an arrow: up for high, down for low."""
    return rows.priority_badge(ticket.priority)


register.filter("timeline_entries", timeline.timeline_entries)
register.filter("attachment_chip", timeline.attachment_chip)


@register.filter
def markdown(text: str):
    """Render user Markdown to sanitised HTML (see tickets.markdown)."""
    return render_markdown(text)


@register.simple_tag(takes_context=True)
def query_with(context, **changes) -> str:
    """The current query string with some parameters replaced (None removes one), for filter links."""
    query = context["request"].GET.copy()
    query.pop("page", None)
    for key, value in changes.items():
        if value is None or value == "":
            query.pop(key, None)
        else:
            query[key] = value
    return query.urlencode()


@register.filter
def duration(seconds: float | None) -> str:
    """A duration in seconds, short and localised: "45 min", "3.5 h", "2.1 d"; "—" for none."""
    if seconds is None:
        return "—"
    minutes = seconds / 60
    if minutes < 60:
        return _("%(number)s min") % {"number": number_format(round(minutes))}
    hours = minutes / 60
    if hours < 48:
        return _("%(number)s h") % {"number": number_format(hours, decimal_pos=1)}
    return _("%(number)s d") % {"number": number_format(hours / 24, decimal_pos=1)}


@register.filter
def percent(fraction: float | None, decimals: int = 0) -> str:
    """0.125 → "13 %" (German and English alike here); "—" for none."""
    if fraction is None:
        return "—"
    return _("%(number)s %%") % {"number": number_format(fraction * 100, decimal_pos=int(decimals))}


@register.simple_tag(takes_context=True)
def saved_ticket_lists(context) -> AgentSidebar:
    """The sidebar's saved lists for an agent (own and shared with IT staff) and the IT teams' queues,
    in one query (tickets.sidebar). Only the layout calls this, and only for agents.
    Has ``lists``, ``more`` and ``my_teams``."""
    return agent_sidebar(context["request"])
