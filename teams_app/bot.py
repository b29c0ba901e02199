"""What the bot does with an authenticated activity from Teams (see teams_app.bot_views).

- Installation (``conversationUpdate`` with the bot among the members added, ``installationUpdate``
  "add") and every message: remember where to reach the person (``BotConversation``) and post the
  welcome card through the notification outbox (channel "chat"), once per activity.
- ``adaptiveCard/action`` invokes (Universal Actions): answered in the request with the card the
  viewer should now see. Permissions are checked again here, at the moment of the action; the same
  activity twice acts once (``BotActivityReceipt``); an action on a card older than the ticket does
  nothing and answers with the current card and a note saying so.
- ``task/fetch`` (the welcome card's "New ticket"): the ticket form as a Teams dialog.
- ``composeExtension/fetchTask`` (the "Create ticket" message action): the same dialog, the form
  started with the message's text and a link back to it (``tickets.drafts``).

The work is done through tickets.services (fast, in the request); notifications go through the
outbox as for any other change. Nothing here talks to Microsoft.
"""

import hashlib
import html
import logging
import re
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import strip_tags
from django.utils.translation import gettext as _
from microsoft_agents.activity import Activity
from social_django.models import UserSocialAuth

from teams_app import cards, channels, message_images
from teams_app.bot_auth import activity_tenant
from teams_app.models import FILED_KIND, WELCOME_KIND, BotActivityReceipt, BotCard, BotConversation, Notification
from teams_app.notifications import PROVIDER
from tickets import drafts, services
from tickets.known_issues import is_affected_only
from tickets.models import Ticket

logger = logging.getLogger(__name__)

CARD_RESPONSE_TYPE = "application/vnd.microsoft.card.adaptive"
MESSAGE_RESPONSE_TYPE = "application/vnd.microsoft.activity.message"


def handle(activity: Activity) -> dict[str, Any] | None:
    """Act on one activity; returns the body of the HTTP answer (an invoke response), or None."""
    user = _person(activity)
    kind = activity.type
    if kind == "invoke":
        if activity.name == "adaptiveCard/action":
            return card_action(activity, user)
        if activity.name == "task/fetch":
            return new_ticket_dialog(user)
        if activity.name == "composeExtension/fetchTask":
            return message_ticket_dialog(activity, user)
        if activity.name in ("task/submit", "composeExtension/submitAction"):
            return dialog_submitted(activity, user)
        return None
    if activity.conversation and activity.conversation.conversation_type == "channel":
        channels.record(activity)  # the channels the bot is in, whoever's activity says so
        if kind == "message" and user is not None:
            reply_in_thread(activity, user)
        return None
    if user is None:
        return None  # someone who never signed in here: nothing to remember them by
    card = _card_replied_to(activity) if kind == "message" else None
    if card is not None:
        remember_conversation(activity, user)
        reply_in_thread(activity, user, card=card)
        return None
    installed = (kind == "conversationUpdate" and _bot_was_added(activity)) or (
        kind == "installationUpdate" and (activity.action or "").startswith("add")
    )
    if installed or kind == "message":
        _remember_and_welcome(activity, user)
    return None


def _person(activity: Activity):
    """The active account of the activity's sender, by their Entra object id; None if unknown."""
    sender = activity.from_property
    oid = (sender.aad_object_id or "").lower() if sender else ""
    if not oid:
        return None
    social = (
        UserSocialAuth.objects.filter(provider=PROVIDER, uid__iexact=oid, user__is_active=True)
        .select_related("user")
        .first()
    )
    return social.user if social else None


def _bot_was_added(activity: Activity) -> bool:
    bot_id = activity.recipient.id if activity.recipient else None
    return any(member.id == bot_id for member in activity.members_added or [])


def _receipt_key(activity: Activity) -> str:
    conversation = activity.conversation.id if activity.conversation else ""
    return hashlib.sha256(f"{conversation}\n{activity.id or ''}".encode()).hexdigest()


def _first_time(activity: Activity) -> bool:
    """Record the activity; False when it was recorded before (Teams delivered it again). Call inside
    the transaction of the work it guards, so a failed action can be tried again."""
    if not activity.id:
        return True
    try:
        with transaction.atomic():
            BotActivityReceipt.objects.create(activity_id=_receipt_key(activity))
    except IntegrityError:
        return False
    return True


def remember_conversation(activity: Activity, user) -> BotConversation | None:
    """Store or refresh where the bot reaches ``user``: their personal chat with the app only."""
    conversation = activity.conversation
    if conversation is None or (conversation.conversation_type or "personal") != "personal":
        return None
    reference, _created = BotConversation.objects.update_or_create(
        user=user,
        defaults={
            "conversation_id": conversation.id,
            "service_url": activity.service_url,
            "tenant_id": activity_tenant(activity),
            "user_chat_id": activity.from_property.id,
            "bot_chat_id": activity.recipient.id if activity.recipient else "",
            "updated_at": timezone.now(),
        },
    )
    return reference


@transaction.atomic
def _remember_and_welcome(activity: Activity, user) -> None:
    from teams_app.delivery_queue import deliver_notification

    if remember_conversation(activity, user) is None or not _first_time(activity):
        return
    row = Notification.objects.create(
        recipient=user,
        channel=Notification.Channel.CHAT,
        kind=WELCOME_KIND,
        ticket=None,
        dedupe_key=f"welcome:{_receipt_key(activity)[:64]}",
    )
    deliver_notification(row.pk)


# --- Replies in the thread of a ticket card ---------------------------------------------------------

_MENTION = re.compile(r"<at\b[^>]*>.*?</at>", re.IGNORECASE | re.DOTALL)


def _card_replied_to(activity: Activity) -> BotCard | None:
    """The ticket card the bot posted that this message answers (in its thread), if any."""
    conversation_id = activity.conversation.id if activity.conversation else ""
    root = channels.thread_root_id(conversation_id or "") or (activity.reply_to_id or "")
    if not root or not conversation_id:
        return None
    return BotCard.objects.filter(
        conversation_id=channels.base_conversation_id(conversation_id), activity_id=root
    ).first()


def _typed_text(activity: Activity) -> str:
    """What the person typed: without the @mention of the bot, as plain text."""
    text = _MENTION.sub(" ", str(activity.text or ""))
    text = html.unescape(strip_tags(text.replace("<br>", "\n").replace("</p>", "\n")))
    return text.strip()[: cards.TEXT_INPUT_MAX]


def reply_in_thread(activity: Activity, user, *, card: BotCard | None = None) -> bool:
    """A message typed in the thread of a ticket card becomes a public comment on that ticket, for
    whoever may comment on it now (the requester while it is open, IT staff always; not people who
    are only affected by it), once per activity id. Returns whether a comment was added."""
    card = card or _card_replied_to(activity)  # the caller may have looked it up already
    text = _typed_text(activity)
    if card is None or not text:
        return False
    with transaction.atomic():
        ticket = _visible_ticket(user, card.ticket_id, lock=True)
        if ticket is None or is_affected_only(ticket, user) or (not ticket.is_open and not user.is_agent):
            logger.info("A reply in the thread of ticket %s by user %s was not taken", card.ticket_id, user.pk)
            return False
        if not _first_time(activity):
            return False
        services.ticket_comment(ticket=ticket, author=user, body=text)
    return True


# --- Universal Actions -----------------------------------------------------------------------------


def _card_response(card: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": 200, "type": CARD_RESPONSE_TYPE, "value": card}


def _message_response(text: str) -> dict[str, Any]:
    return {"statusCode": 200, "type": MESSAGE_RESPONSE_TYPE, "value": text}


def card_action(activity: Activity, user) -> dict[str, Any]:
    value = activity.value if isinstance(activity.value, dict) else {}
    action = value.get("action") if isinstance(value.get("action"), dict) else {}
    verb = str(action.get("verb") or "")
    data = action.get("data") if isinstance(action.get("data"), dict) else {}
    if user is None:
        return _message_response(_("Please sign in to TinyTeamsTicket once (open the app's tab), then try again."))
    with translation.override(cards.language(user)):
        if verb == cards.VERB_MY_TICKETS:
            tickets = list(
                Ticket.objects.visible_to(user)
                .filter(requester=user)
                .open()
                .order_by("-created_at")[: cards.OPEN_TICKETS_SHOWN]
            )
            return _card_response(cards.my_tickets_card(user, tickets))
        if verb not in cards.TICKET_VERBS:
            return _message_response(_("This button is not known (any more)."))
        try:
            ticket_id = int(data.get("ticket"))
        except (TypeError, ValueError):
            return _message_response(_("This card does not name a ticket."))
        viewer_ids = [activity.from_property.id] if activity.from_property and activity.from_property.id else []
        with transaction.atomic():
            ticket = _visible_ticket(user, ticket_id, lock=verb not in (cards.VERB_REFRESH, cards.VERB_SHOW))
            if ticket is None:
                return _message_response(_("This ticket does not exist or you may not see it."))
            in_channel = _in_channel(activity)
            if verb in (cards.VERB_REFRESH, cards.VERB_SHOW):
                if in_channel:
                    return _card_response(cards.channel_ticket_card(ticket, lang=cards.language(user)))
                return _card_response(cards.ticket_card(ticket, user, user_ids=viewer_ids))
            try:
                # One savepoint for the receipt and the change: an action refused or stale records
                # nothing, so the person may try again.
                with transaction.atomic():
                    if not _first_time(activity):
                        raise _AlreadyDoneError
                    if str(data.get("v") or "") != cards.version_of(ticket):
                        raise _StaleCardError
                    note, warning = _act(verb, ticket, user, data), False
            except _AlreadyDoneError:
                note, warning = _("This was done already."), False
            except _StaleCardError:
                note = _("This ticket has changed meanwhile; nothing was done. Here is how it looks now.")
                warning = True
            except PermissionDenied:
                note, warning = _("You may not do this (any more)."), True
            except _InputMissingError as missing:
                note, warning = str(missing), True
            ticket = _visible_ticket(user, ticket_id, lock=False)
            if ticket is None:
                return _message_response(note)
            if in_channel:
                # The card everyone in the channel sees, with the note for the one who pressed; the
                # change itself updates the posted card for everyone (through the outbox).
                card = cards.channel_ticket_card(ticket, lang=cards.language(user), note=note, warning=warning)
                return _card_response(card)
            return _card_response(cards.ticket_card(ticket, user, user_ids=viewer_ids, note=note, warning=warning))


def _in_channel(activity: Activity) -> bool:
    return bool(activity.conversation and activity.conversation.conversation_type == "channel")


def _visible_ticket(user, ticket_id: int, *, lock: bool) -> Ticket | None:
    tickets = Ticket.objects.visible_to(user).select_related("requester", "assignee")
    if lock:
        tickets = tickets.select_for_update(of=("self",))
    return tickets.filter(pk=ticket_id).first()


class _InputMissingError(Exception):
    pass


class _AlreadyDoneError(Exception):
    pass


class _StaleCardError(Exception):
    pass


def _text(data: dict, name: str) -> str:
    text = str(data.get(name) or "").strip()
    if not text:
        raise _InputMissingError(_("Please write something first."))
    return text[: cards.TEXT_INPUT_MAX]


def _act(verb: str, ticket: Ticket, user, data: dict) -> str:
    """Do what the button says, through the services (which check the rules again); returns the note."""
    if verb == cards.VERB_REPLY:
        if not ticket.is_open and not user.is_agent:
            raise PermissionDenied
        services.ticket_comment(ticket=ticket, author=user, body=_text(data, cards.INPUT_COMMENT))
        return _("Your reply was added.")
    if verb == cards.VERB_NOTE:
        if not user.is_agent:
            raise PermissionDenied
        services.ticket_comment(ticket=ticket, author=user, body=_text(data, cards.INPUT_NOTE), is_internal=True)
        return _("Your internal note was added.")
    if verb == cards.VERB_CLOSE:
        if not ticket.is_open:
            raise PermissionDenied
        services.ticket_close(ticket=ticket, user=user)
        return _("Glad it works again: the ticket is closed.")
    if verb == cards.VERB_REOPEN:
        services.ticket_reopen(ticket=ticket, user=user)
        return _("The ticket is open again; IT will look at it.")
    if verb == cards.VERB_TAKE:
        if not user.is_agent:
            raise PermissionDenied
        services.ticket_take(ticket=ticket, agent=user)
        return _("You are now responsible for this ticket.")
    if verb == cards.VERB_STATUS:
        status = str(data.get(cards.INPUT_STATUS) or "")
        if status not in Ticket.Status.values:
            raise _InputMissingError(_("Please choose a status."))
        services.ticket_update(ticket=ticket, actor=user, status=status)
        return _("The status was changed.")
    if verb == cards.VERB_ASSIGN:
        from accounts.roles import agents

        assignee = agents().filter(pk=_int(data.get(cards.INPUT_ASSIGNEE))).first()
        if assignee is None:
            raise _InputMissingError(_("Please choose someone from IT."))
        services.ticket_update(ticket=ticket, actor=user, assignee=assignee)
        return _("%(name)s is now responsible for this ticket.") % {"name": assignee.display_name}
    raise PermissionDenied


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- Dialogs (task modules) ------------------------------------------------------------------------


def new_ticket_dialog(user) -> dict[str, Any]:
    """The ticket form of the tab, opened as a Teams dialog."""
    with translation.override(cards.language(user) if user else settings.LANGUAGE_CODE):
        url = f"{settings.SITE_URL}{reverse('teams_app:tab_new')}?dialog=1"
        return {
            "task": {
                "type": "continue",
                "value": {
                    "title": _("New ticket"),
                    "url": url,
                    "fallbackUrl": url,
                    "height": "large",
                    "width": "large",
                },
            }
        }


MESSAGE_ACTION = "createTicket"
DRAFT_TEXT_MAX = 2000
TEAMS_LINK_PREFIX = "https://teams.microsoft.com/"


def _message_text(payload: dict) -> str:
    """The plain text of a Teams message (its body is HTML as a rule)."""
    body = payload.get("body") if isinstance(payload.get("body"), dict) else {}
    content = str(body.get("content") or "")
    if str(body.get("contentType") or "html").lower() == "html":
        content = html.unescape(strip_tags(content.replace("<br>", "\n").replace("</p>", "\n")))
    return content.strip()[:DRAFT_TEXT_MAX]


def _message_author(payload: dict):
    """The active account of the message's author, by their Entra object id; None if unknown."""
    sender = payload.get("from") if isinstance(payload.get("from"), dict) else {}
    author = sender.get("user") if isinstance(sender.get("user"), dict) else {}
    oid = str(author.get("aadObjectId") or author.get("id") or "").lower()
    if not oid:
        return None
    social = UserSocialAuth.objects.filter(provider=PROVIDER, uid__iexact=oid, user__is_active=True).first()
    return social.user if social else None


def message_ticket_dialog(activity: Activity, user) -> dict[str, Any]:
    """The "Create ticket" message action: the ticket form as a dialog, started with the message's
    text and a link back to it. An employee files it for themselves; an agent for the message's author
    (when the author has an account here), as the form then says."""
    value = activity.value if isinstance(activity.value, dict) else {}
    with translation.override(cards.language(user) if user else settings.LANGUAGE_CODE):
        if user is None:
            return {
                "task": {
                    "type": "message",
                    "value": _("Please sign in to TinyTeamsTicket once (open the app's tab), then try again."),
                }
            }
        if value.get("commandId") != MESSAGE_ACTION:
            return {"task": {"type": "message", "value": _("This button is not known (any more).")}}
        payload = value.get("messagePayload") if isinstance(value.get("messagePayload"), dict) else {}
        text = _message_text(payload)
        link = str(payload.get("linkToMessage") or "")
        description = text
        if link.startswith(TEAMS_LINK_PREFIX):  # only ever a link into Teams
            description = f"{text}\n\n{_('From this Teams message:')} {link}".strip()
        title = (text.splitlines() or [""])[0][:80]
        author = _message_author(payload) if user.is_agent else None
        requester_id = author.pk if author is not None and author.pk != user.pk else None
        token = drafts.make_token(
            user_id=user.pk,
            title=title,
            description=description,
            requester_id=requester_id,
            link=link if link.startswith(TEAMS_LINK_PREFIX) else "",
            images=message_images.image_refs(payload, service_url=activity.service_url or ""),
            images_from=activity.service_url or "",
        )
        url = f"{settings.SITE_URL}{reverse('teams_app:tab_new')}?{urlencode({'draft': token, 'dialog': '1'})}"
        return {
            "task": {
                "type": "continue",
                "value": {
                    "title": _("Create ticket"),
                    "url": url,
                    "fallbackUrl": url,
                    "height": "large",
                    "width": "large",
                },
            }
        }


def dialog_submitted(activity: Activity, user) -> dict[str, Any] | None:
    """The ticket dialog closed after filing (``teams_app.dialogs``) and names the new ticket: post
    its card in the person's chat with the app, through the outbox, once per activity. Answers
    nothing, which lets the dialog close."""
    from teams_app.delivery_queue import deliver_notification

    value = activity.value if isinstance(activity.value, dict) else {}
    data = value.get("data") if isinstance(value.get("data"), dict) else {}
    ticket_id = _int(data.get("ticket"))
    if user is None or ticket_id is None:
        return None
    ticket = Ticket.objects.visible_to(user).filter(pk=ticket_id).first()
    if ticket is None or not BotConversation.objects.filter(user=user).exists():
        return None  # not theirs to see, or no chat with the app to post in
    with transaction.atomic():
        if not _first_time(activity):
            return None
        row = Notification.objects.create(
            recipient=user,
            channel=Notification.Channel.CHAT,
            kind=FILED_KIND,
            ticket=ticket,
            dedupe_key=f"filed:{_receipt_key(activity)[:64]}",
        )
        deliver_notification(row.pk)
    return None
