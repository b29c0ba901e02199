"""Every Adaptive Card the bot shows, built here and nowhere else (schema version 1.5, what Teams
renders on desktop and mobile).

Cards are written in the viewer's language. User text (titles, comments, names) only ever goes into
``TextRun`` inlines, which Teams shows as plain text (``TextBlock`` and facts would read Markdown, so
a title could smuggle in a link); our own labels go into ``TextBlock``s. Links are built from
settings and ids only.

Ticket cards use Universal Actions: every button is an ``Action.Execute`` carrying the ticket id and
the version (``updated_at``) the card showed, and the card has a ``refresh`` for its viewer, so Teams
asks the bot for the current card whenever it is shown. What each viewer may do is decided when the
card is built *and* again when the action arrives (``teams_app.bot``).
"""

from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from teams_app.payloads import PARAMETER_MAX, TITLE_MAX, plain, ticket_url
from tickets.known_issues import A_COLLEAGUE
from tickets.models import Comment, Ticket
from tickets.ratings import rating_link_for

CARD_VERSION = "1.5"
CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
SCHEMA_URL = "http://adaptivecards.io/schemas/adaptive-card.json"
COMMENT_EXCERPT_MAX = 600
OPEN_TICKETS_SHOWN = 10

# The verbs of Action.Execute, as the bot reads them back.
VERB_REFRESH = "refresh"
VERB_SHOW = "show"
VERB_MY_TICKETS = "myTickets"
VERB_REPLY = "reply"
VERB_CLOSE = "close"
VERB_REOPEN = "reopen"
VERB_TAKE = "take"
VERB_STATUS = "status"
VERB_NOTE = "note"
VERB_ASSIGN = "assign"
TICKET_VERBS = {
    VERB_REFRESH,
    VERB_SHOW,
    VERB_REPLY,
    VERB_CLOSE,
    VERB_REOPEN,
    VERB_TAKE,
    VERB_STATUS,
    VERB_NOTE,
    VERB_ASSIGN,
}

# The ids of the inputs; the bot reads the typed text under these names.
INPUT_COMMENT = "comment"
INPUT_NOTE = "note"
INPUT_STATUS = "status"
INPUT_ASSIGNEE = "assignee"
ASSIGNEES_SHOWN = 50  # a card is no directory; more agents are assigned on the web
TEXT_INPUT_MAX = 5000


def language(user) -> str:
    return (getattr(user, "language", "") or "") or settings.LANGUAGE_CODE


def version_of(ticket: Ticket) -> str:
    """What the card remembers of the ticket's state: an action on an older version is stale."""
    return ticket.updated_at.isoformat()


def attachment(card: dict[str, Any]) -> dict[str, Any]:
    """The card as a message attachment."""
    return {"contentType": CONTENT_TYPE, "content": card}


def _card(body: list, actions: list, *, refresh: dict | None = None) -> dict[str, Any]:
    card = {"type": "AdaptiveCard", "$schema": SCHEMA_URL, "version": CARD_VERSION, "body": body}
    if actions:
        card["actions"] = actions
    if refresh:
        card["refresh"] = refresh
    return card


def _heading(text: str) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "weight": "Bolder", "size": "Medium", "wrap": True}


def _label(text: str, **style) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def _user_text(text: str, **style) -> dict[str, Any]:
    """User-written text: a TextRun, never Markdown."""
    return {"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": text, **style}]}


def _execute(title: str, verb: str, data: dict[str, Any], **extra) -> dict[str, Any]:
    return {"type": "Action.Execute", "title": title, "verb": verb, "data": data, **extra}


def _text_form(title: str, verb: str, data: dict, *, input_id: str, placeholder: str) -> dict[str, Any]:
    """A button that unfolds a text box and a send button."""
    return {
        "type": "Action.ShowCard",
        "title": title,
        "card": {
            "type": "AdaptiveCard",
            "body": [
                {
                    "type": "Input.Text",
                    "id": input_id,
                    "isMultiline": True,
                    "isRequired": True,
                    "maxLength": TEXT_INPUT_MAX,
                    "placeholder": placeholder,
                    "label": title,
                    "errorMessage": _("Please write something first."),
                }
            ],
            "actions": [_execute(_("Send"), verb, data)],
        },
    }


def welcome_card(user) -> dict[str, Any]:
    """The first card in a person's chat with the app: file a ticket, or see their open ones."""
    with translation.override(language(user)):
        body = [
            _heading(_("Hello from the IT help desk")),
            _label(_("Report an IT problem here in a few clicks, and follow and answer your tickets in this chat.")),
        ]
        actions = [
            # Opens the ticket form as a Teams dialog (task module): the bot answers task/fetch.
            {
                "type": "Action.Submit",
                "title": _("New ticket"),
                "data": {"msteams": {"type": "task/fetch"}, "dialog": "newTicket"},
            },
            _execute(_("My open tickets"), VERB_MY_TICKETS, {}),
        ]
        return _card(body, actions)


def my_tickets_card(user, tickets: list[Ticket]) -> dict[str, Any]:
    """The person's open tickets (newest first); each opens its ticket card."""
    with translation.override(language(user)):
        body = [_heading(_("My open tickets"))]
        if not tickets:
            body.append(_label(_("You have no open tickets."), isSubtle=True))
        for ticket in tickets[:OPEN_TICKETS_SHOWN]:
            body.append(
                {
                    "type": "Container",
                    "separator": True,
                    "items": [
                        _user_text(f"#{ticket.pk} {plain(ticket.title, TITLE_MAX)}", weight="Bolder"),
                        _label(str(ticket.get_status_display()), isSubtle=True, spacing="None"),
                    ],
                    "selectAction": _execute(_("Show"), VERB_SHOW, {"ticket": ticket.pk, "v": version_of(ticket)}),
                }
            )
        actions = [
            {
                "type": "Action.Submit",
                "title": _("New ticket"),
                "data": {"msteams": {"type": "task/fetch"}, "dialog": "newTicket"},
            }
        ]
        return _card(body, actions)


def last_public_comment(ticket: Ticket) -> Comment | None:
    """The newest comment everyone on the ticket may read: internal notes never reach a card."""
    return (
        Comment.objects.filter(ticket=ticket, is_internal=False).select_related("author").order_by("-created_at", "-pk")
    ).first()


def _card_head(ticket: Ticket, note: str, warning: bool) -> list[dict[str, Any]]:
    """What every ticket card starts with: the note on what just happened (or, with ``warning``, why
    nothing did), then the ticket's number and title."""
    head = [_label(note, color="Attention" if warning else "Good", weight="Bolder")] if note else []
    return [*head, _user_text(f"#{ticket.pk} {plain(ticket.title, TITLE_MAX)}", weight="Bolder", size="Medium")]


def ticket_card(
    ticket: Ticket, viewer, *, user_ids: list[str] = (), note: str = "", warning: bool = False
) -> dict[str, Any]:
    """The ticket as ``viewer`` may see it and act on it; ``note`` says what just happened, or with
    ``warning`` why nothing did. ``user_ids``: the chat ids of the people whose Teams refreshes the card."""
    with translation.override(language(viewer)):
        data, body = {"ticket": ticket.pk, "v": version_of(ticket)}, _card_head(ticket, note, warning)
        body += [
            {
                "type": "ColumnSet",
                "columns": [
                    {"type": "Column", "width": "auto", "items": [_label(_("Status"), isSubtle=True)]},
                    {"type": "Column", "width": "stretch", "items": [_label(str(ticket.get_status_display()))]},
                ],
            },
            _label(_("Responsible"), isSubtle=True, spacing="Small"),
            _user_text(
                plain(ticket.assignee.display_name, PARAMETER_MAX) if ticket.assignee else _("Nobody yet"),
            ),
        ]
        comment = last_public_comment(ticket)
        if comment is not None:
            author = comment.author.display_name if comment.author else "TinyTeamsTicket"
            if comment.author and not viewer.is_agent and comment.author_id != viewer.pk:
                # Employees see names of IT staff and their own only (a merged ticket's requester, tickets.known_issues)
                author = author if comment.author.is_agent else str(A_COLLEAGUE)
            body.append(_label(_("Last reply"), isSubtle=True, spacing="Medium"))
            body.append(_user_text(plain(author, PARAMETER_MAX), weight="Bolder"))
            body.append(_user_text(plain(comment.body, COMMENT_EXCERPT_MAX)))
        actions = _ticket_actions(ticket, viewer, data)
        actions.append({"type": "Action.OpenUrl", "title": _("Open in browser"), "url": ticket_url(ticket)})
        actions += _message_link_action(ticket)
        refresh = None
        if user_ids:
            refresh = {
                "action": {"type": "Action.Execute", "verb": VERB_REFRESH, "data": data},
                "userIds": list(user_ids),
            }
        return _card(body, actions, refresh=refresh)


def _ticket_actions(ticket: Ticket, viewer, data: dict) -> list[dict[str, Any]]:
    actions: list[dict[str, Any]] = []
    if viewer.is_agent:
        if ticket.is_open and ticket.assignee_id != viewer.pk:
            actions.append(_execute(_("Take it"), VERB_TAKE, data))
        actions.append(_status_form(ticket, data))
        actions.append(
            _text_form(
                _("Reply"), VERB_REPLY, data, input_id=INPUT_COMMENT, placeholder=_("Your reply to the requester")
            )
        )
        actions.append(
            _text_form(
                _("Internal note"), VERB_NOTE, data, input_id=INPUT_NOTE, placeholder=_("Only IT staff will see this")
            )
        )
        return actions
    if ticket.is_open and ticket.requester_id == viewer.pk:  # affected people read only
        actions.append(_text_form(_("Reply"), VERB_REPLY, data, input_id=INPUT_COMMENT, placeholder=_("Your reply")))
    if ticket.can_be_closed_by(viewer) and ticket.is_open:
        actions.append(_execute(_("It's solved"), VERB_CLOSE, data))
    if ticket.can_be_reopened_by(viewer):
        actions.append(_execute(_("Still broken"), VERB_REOPEN, data))
    rating_url = rating_link_for(ticket, viewer)  # tickets.ratings: asked once per resolution
    if rating_url:
        actions.append({"type": "Action.OpenUrl", "title": _("Did this solve your problem?"), "url": rating_url})
    return actions


# --- The IT channel ---------------------------------------------------------------------------------


def channel_ticket_card(ticket: Ticket, *, lang: str = "", note: str = "", warning: bool = False) -> dict[str, Any]:
    """A ticket's card in the IT channel, one for everyone there (in the site's language unless
    ``lang``), replaced in place whenever the ticket changes: agents take, assign and change status
    from it. Whoever presses a button is checked again then (``teams_app.bot``); internal notes and
    the conversation stay on the web."""
    from accounts.roles import agent_names

    with translation.override(lang or settings.LANGUAGE_CODE):
        data, body = {"ticket": ticket.pk, "v": version_of(ticket)}, _card_head(ticket, note, warning)
        body += [
            {
                "type": "FactSet",
                "facts": [
                    {"title": _("Status"), "value": str(ticket.get_status_display())},
                    {"title": _("Priority"), "value": str(ticket.get_priority_display())},
                ],
            },
            _label(_("Requester"), isSubtle=True, spacing="Small"),
            _user_text(plain(ticket.requester.display_name, PARAMETER_MAX)),
            _label(_("Problem source"), isSubtle=True, spacing="Small"),
            _user_text(plain(ticket.problem_source.name, PARAMETER_MAX)),
            _label(_("Responsible"), isSubtle=True, spacing="Small"),
            _user_text(plain(ticket.assignee.display_name, PARAMETER_MAX) if ticket.assignee else _("Nobody yet")),
            _user_text(plain(ticket.description, 300), isSubtle=True),
        ]
        actions: list[dict[str, Any]] = []
        if ticket.is_open:
            actions.append(_execute(_("Take it"), VERB_TAKE, data))
            choices = [{"title": plain(name, PARAMETER_MAX), "value": str(pk)} for pk, name in agent_names()]
            actions.append(
                {
                    "type": "Action.ShowCard",
                    "title": _("Assign"),
                    "card": {
                        "type": "AdaptiveCard",
                        "body": [
                            {
                                "type": "Input.ChoiceSet",
                                "id": INPUT_ASSIGNEE,
                                "label": _("Responsible"),
                                "value": str(ticket.assignee_id or ""),
                                "choices": choices[:ASSIGNEES_SHOWN],
                                "isRequired": True,
                            }
                        ],
                        "actions": [_execute(_("Assign"), VERB_ASSIGN, data)],
                    },
                }
            )
        actions.append(_status_form(ticket, data))
        actions.append({"type": "Action.OpenUrl", "title": _("Open in browser"), "url": ticket_url(ticket)})
        actions += _message_link_action(ticket)
        return _card(body, actions)


def _status_form(ticket: Ticket, data: dict) -> dict[str, Any]:
    choices = [{"title": str(label), "value": value} for value, label in Ticket.Status.choices]
    return {
        "type": "Action.ShowCard",
        "title": _("Status"),
        "card": {
            "type": "AdaptiveCard",
            "body": [
                {
                    "type": "Input.ChoiceSet",
                    "id": INPUT_STATUS,
                    "label": _("Status"),
                    "value": ticket.status,
                    "choices": choices,
                    "isRequired": True,
                }
            ],
            "actions": [_execute(_("Change status"), VERB_STATUS, data)],
        },
    }


def _message_link_action(ticket: Ticket) -> list[dict[str, Any]]:
    """A button back to the Teams message the ticket was made from, if it was (teams_app.dialogs)."""
    from teams_app.dialogs import message_link

    link = message_link(ticket)
    return [{"type": "Action.OpenUrl", "title": _("Teams message"), "url": link}] if link else []
