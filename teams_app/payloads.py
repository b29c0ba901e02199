"""What a notification says: the Teams activity payload, the channel card and the e-mail.

Every builder runs in the recipient's language. User text (titles, comments, names) goes into Teams
only as plain JSON strings, in fields Teams shows as plain text (activity preview and template
parameters; ``TextRun`` in cards, which unlike ``TextBlock`` and facts does not read Markdown), and
into e-mail through auto-escaping templates. Links are built from settings and ids only.
"""

import json
import string
import unicodedata
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from teams_app import activity_types
from teams_app.models import Notification
from tickets.models import Ticket
from tickets.ratings import rating_link_for
from tickets.sla_alerts import sla_alert_text

PREVIEW_MAX = 150  # what Teams shows of previewText
PARAMETER_MAX = 100
TITLE_MAX = 80
EXCERPT_MAX = 1000
TEAMS_TAB_ENTITY = "myTickets"  # the static tab of the app manifest that shows tickets
SYSTEM_NAME = "TinyTeamsTicket"


def plain(text: str, limit: int) -> str:
    """One line of plain text: control characters out, whitespace collapsed, cut at ``limit``."""
    cleaned = "".join(" " if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") else char for char in text)
    line = " ".join(cleaned.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def language_of(notification: Notification) -> str:
    recipient = notification.recipient
    return (recipient.language if recipient is not None else "") or settings.LANGUAGE_CODE


def ticket_url(ticket: Ticket) -> str:
    return f"{settings.SITE_URL}{reverse('tickets:detail', args=[ticket.pk])}"


def teams_deep_link(ticket: Ticket) -> str:
    """A link that opens the ticket in the app's tab in Teams (or, without TEAMS_APP_ID, on the site)."""
    web_url = ticket_url(ticket)
    app_id = getattr(settings, "TEAMS_APP_ID", "")
    if not app_id:
        return web_url
    context = json.dumps({"subEntityId": f"ticket-{ticket.pk}"}, separators=(",", ":"))
    query = urlencode({"webUrl": web_url, "context": context}, quote_via=quote)
    return f"https://teams.microsoft.com/l/entity/{quote(app_id, safe='')}/{TEAMS_TAB_ENTITY}?{query}"


@dataclass(frozen=True)
class Message:
    """The parts every channel uses, already in the recipient's language; all plain text."""

    actor: str
    ticket_label: str
    status: str
    headline: str
    details: str  # the comment, the description, or empty


def _message(notification: Notification) -> Message:
    ticket, event = notification.ticket, notification.event
    # No actor: the system itself (automatic resolve and close) or, rarely, a deleted account.
    actor = event.actor.display_name if event is not None and event.actor is not None else SYSTEM_NAME
    label = f"#{ticket.pk} {plain(ticket.title, TITLE_MAX)}"
    status = ""
    if event is not None and event.kind == event.Kind.STATUS and event.new_value in Ticket.Status.values:
        status = str(Ticket.Status(event.new_value).label)
    elif event is not None and event.kind in (event.Kind.SLA_WARNING, event.Kind.SLA_BREACH):
        status = sla_alert_text(event.kind, event.new_value)
    elif event is not None and event.kind == event.Kind.KNOWN_ISSUE:
        status = str(Ticket.Status(ticket.status).label)  # a known issue's new public status text
    names = {"actor": actor, "ticket": label, "status": status}
    headlines = {
        activity_types.TICKET_CREATED.type: _("%(actor)s filed ticket %(ticket)s"),
        activity_types.TICKET_ASSIGNED.type: _("%(actor)s assigned ticket %(ticket)s to you"),
        activity_types.TICKET_REPLY.type: _("%(actor)s replied to your ticket %(ticket)s"),
        activity_types.TICKET_COMMENT.type: _("%(actor)s commented on ticket %(ticket)s"),
        activity_types.TICKET_STATUS.type: _("Ticket %(ticket)s is now %(status)s"),
        activity_types.TICKET_SLA.type: _("Ticket %(ticket)s: %(status)s"),
    }
    if event is not None and event.comment is not None:
        details = event.comment.body
    elif event is not None and event.kind == event.Kind.KNOWN_ISSUE:
        details = event.new_value
    elif notification.kind in (activity_types.TICKET_CREATED.type, activity_types.TICKET_ASSIGNED.type):
        details = ticket.description
    elif status and event.new_value == Ticket.Status.RESOLVED:
        details = _("Did this solve your problem? Please tell us on the ticket.")  # tickets.ratings
    else:
        details = ""
    return Message(
        actor=actor, ticket_label=label, status=status, headline=headlines[notification.kind] % names, details=details
    )


def activity_payload(notification: Notification) -> dict[str, Any]:
    """The body of Graph's sendActivityNotification for this notification."""
    activity = activity_types.BY_TYPE[notification.kind]
    with translation.override(language_of(notification)):
        message = _message(notification)
    values = {"actor": message.actor, "ticket": message.ticket_label, "status": message.status}
    # Teams refuses the call unless every {placeholder} of the declared template is filled.
    placeholders = [name for _text, name, _spec, _conv in string.Formatter().parse(activity.template_text) if name]
    return {
        "topic": {
            "source": "text",
            "value": plain(message.ticket_label, PARAMETER_MAX),
            "webUrl": teams_deep_link(notification.ticket),
        },
        "activityType": activity.type,
        "previewText": {"content": plain(message.details or message.headline, PREVIEW_MAX)},
        "templateParameters": [{"name": name, "value": plain(values[name], PARAMETER_MAX)} for name in placeholders],
        # Graph has no idempotency key, but a notification with the chainId of an earlier one replaces
        # it in the activity feed: a repeat after a timeout or a crash shows once.
        "chainId": notification.pk,
    }


def channel_card(notification: Notification) -> dict[str, Any]:
    """A Teams Workflows webhook message with an Adaptive Card announcing a new ticket."""
    ticket = notification.ticket

    def text_run(text: str, **style) -> dict[str, Any]:
        return {"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": text, **style}], "spacing": "Small"}

    with translation.override(language_of(notification)):
        message = _message(notification)
        body = [
            {"type": "TextBlock", "text": _("New ticket"), "weight": "Bolder", "size": "Medium", "wrap": True},
            text_run(message.ticket_label, weight="Bolder"),
            text_run(_("Requester: %(name)s") % {"name": plain(ticket.requester.display_name, PARAMETER_MAX)}),
            text_run(_("Problem source: %(name)s") % {"name": plain(ticket.problem_source.name, PARAMETER_MAX)}),
            text_run(_("Priority: %(priority)s") % {"priority": ticket.get_priority_display()}),
            text_run(plain(ticket.description, 300), isSubtle=True),
        ]
        open_ticket = _("Open ticket")
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": body,
                    "actions": [{"type": "Action.OpenUrl", "title": open_ticket, "url": ticket_url(ticket)}],
                },
            }
        ],
    }


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str


def email(notification: Notification) -> Email:
    """Subject, text and HTML body in the recipient's language; the templates escape user text."""
    with translation.override(language_of(notification)):
        message = _message(notification)
        context = {
            "recipient": notification.recipient,
            "ticket": notification.ticket,
            "headline": message.headline,
            "details": message.details[:EXCERPT_MAX],
            "details_cut": len(message.details) > EXCERPT_MAX,
            "ticket_url": ticket_url(notification.ticket),
            "settings_url": f"{settings.SITE_URL}{reverse('teams_app:notification_settings')}",
            # "Did this solve your problem?" with a signed link, when a ticket was resolved for its requester.
            "rating_url": rating_link_for(notification.ticket, notification.recipient)
            if notification.kind == activity_types.TICKET_STATUS.type
            else None,
        }
        subject = render_to_string("emails/notification_subject.txt", context)
        text = render_to_string("emails/notification.txt", context)
        html = render_to_string("emails/notification.html", context)
    return Email(subject=plain(subject, 200), text=text, html=html)
