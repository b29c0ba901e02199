"""The Teams channels the bot is in, the IT channel among them, and the ticket cards posted there.

- ``record`` (from ``teams_app.bot``): the bot's activities in team scope tell where it is: installed
  in a team (the General channel, whose id is the team's), channels created, renamed, deleted or
  restored, the team renamed, the bot removed, and any message in a channel.
- ``choose_it_channel``: the admin's pick (``/teams/setup/`` or the admin). At most one channel is the
  IT channel (a partial unique constraint); the Workflows webhook stays the no-bot alternative.
- ``channel_for_ticket``: where a ticket's card goes: the channel its IT team names (``Team.channel``),
  else the IT channel.
- ``deliver_channel_card`` (from ``teams_app.delivery``, in workers): the first delivery posts the
  card and keeps its activity id (``BotCard``); every later one replaces that very message (PUT on
  the activity), so the card in the channel always shows the ticket as it is now.
"""

import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from microsoft_agents.activity import Activity

from core import microsoft as graph
from teams_app.bot_auth import activity_tenant
from teams_app.models import BotCard, BotChannel, Notification

logger = logging.getLogger(__name__)

MESSAGE_ID_MARK = ";messageid="
# How long an update waits for the card's first post (still on its way) before it tries again.
NOT_POSTED_YET_RETRY_SECONDS = 10.0


def _channel_data(activity: Activity) -> dict[str, Any]:
    return activity.channel_data if isinstance(activity.channel_data, dict) else {}


def _named(value: Any) -> tuple[str, str]:
    """(id, name) of a channelData ``team`` or ``channel``."""
    if not isinstance(value, dict):
        return "", ""
    return str(value.get("id") or "")[:200], str(value.get("name") or "")[:200]


def base_conversation_id(conversation_id: str) -> str:
    """A channel's conversation id without the ";messageid=" of a thread in it."""
    return conversation_id.split(MESSAGE_ID_MARK, 1)[0]


def thread_root_id(conversation_id: str) -> str:
    """The message id a channel thread hangs on ("...;messageid=<id>"), or ''."""
    return conversation_id.partition(MESSAGE_ID_MARK)[2]


def _bot_among(activity: Activity, members) -> bool:
    bot_id = activity.recipient.id if activity.recipient else None
    return bool(bot_id) and any(member.id == bot_id for member in members or [])


@transaction.atomic
def record(activity: Activity) -> BotChannel | None:
    """Remember what a team-scope activity says about the channels the bot is in; returns the channel
    the activity names (or the team's General channel), if any."""
    data = _channel_data(activity)
    team_id, team_name = _named(data.get("team"))
    if not team_id:
        return None
    channel_id, channel_name = _named(data.get("channel"))
    event = str(data.get("eventType") or "")
    kind = activity.type
    action = str(activity.action or "")
    removed = (kind == "conversationUpdate" and _bot_among(activity, activity.members_removed)) or (
        kind == "installationUpdate" and action.startswith("remove")
    )
    if removed or event == "teamDeleted":
        BotChannel.objects.filter(team_id=team_id).update(is_available=False, updated_at=timezone.now())
        return None
    if event == "channelDeleted":
        BotChannel.objects.filter(channel_id=channel_id).update(is_available=False, updated_at=timezone.now())
        return None
    if team_name:
        BotChannel.objects.filter(team_id=team_id).exclude(team_name=team_name).update(team_name=team_name)
    if kind == "message" and not channel_id and activity.conversation:
        channel_id = base_conversation_id(activity.conversation.id or "")[:200]
    added = (kind == "conversationUpdate" and _bot_among(activity, activity.members_added)) or (
        kind == "installationUpdate" and action.startswith("add")
    )
    named = None
    if added:
        # Teams names only the General channel when the bot joins; its id is the team's.
        named = _upsert(activity, team_id, team_name, team_id, channel_name if channel_id == team_id else "")
    if channel_id and (kind == "message" or event in ("channelCreated", "channelRenamed", "channelRestored")):
        named = _upsert(activity, team_id, team_name, channel_id, channel_name)
    return named


def _upsert(activity: Activity, team_id: str, team_name: str, channel_id: str, channel_name: str) -> BotChannel:
    defaults = {
        "team_id": team_id,
        "service_url": activity.service_url,
        "tenant_id": activity_tenant(activity),
        "bot_chat_id": activity.recipient.id if activity.recipient else "",
        "is_available": True,
        "updated_at": timezone.now(),
    }
    if team_name:
        defaults["team_name"] = team_name
    if channel_name:
        defaults["channel_name"] = channel_name
    channel, _created = BotChannel.objects.update_or_create(channel_id=channel_id, defaults=defaults)
    return channel


@transaction.atomic
def choose_it_channel(channel: BotChannel | None) -> None:
    """Make ``channel`` the IT channel (None: no IT channel; new tickets are posted nowhere by the bot)."""
    BotChannel.objects.filter(is_it_channel=True).exclude(pk=getattr(channel, "pk", None)).update(is_it_channel=False)
    if channel is not None:
        BotChannel.objects.filter(pk=channel.pk).update(is_it_channel=True)


def it_channel() -> BotChannel | None:
    return BotChannel.objects.filter(is_it_channel=True, is_available=True).first()


def channel_for_ticket(ticket) -> BotChannel | None:
    """Where the card of a new ticket is posted: its IT team's own channel where the team names one
    the bot is still in, else the IT channel; one query."""
    if ticket.team_id is None:
        return it_channel()
    where = Q(it_teams=ticket.team_id) | Q(is_it_channel=True)
    return BotChannel.objects.filter(where, is_available=True).order_by("is_it_channel", "pk").first()


class NotPostedYetError(Exception):
    """An update came before the card's first post went out; it is tried again shortly."""


class NoChannelError(Exception):
    """There is no channel to post in (none chosen, or the bot was removed from it)."""


def deliver_channel_card(notification: Notification) -> None:
    """Post the ticket's card to its channel, or replace the card posted before. Raises
    MicrosoftError (the Connector), NotPostedYetError, or NoChannelError (for good)."""
    from teams_app import cards  # cards reads tickets, which the outbox does not need otherwise

    ticket = notification.ticket
    posted = BotCard.objects.filter(ticket=ticket, channel__isnull=False).select_related("channel").first()
    if posted is not None:
        activity = _card_activity(cards.channel_ticket_card(_fresh(ticket)), posted.channel)
        activity["id"] = posted.activity_id
        graph.bot_update(
            posted.service_url, posted.conversation_id, posted.activity_id, activity, token=graph.bot_token()
        )
        BotCard.objects.filter(pk=posted.pk).update(updated_at=timezone.now())
        return
    if notification.kind != _created_kind():
        first_post = Notification.objects.filter(
            ticket=ticket, channel=Notification.Channel.IT_CHANNEL, kind=_created_kind()
        ).exclude(status__in=[Notification.Status.SENT, Notification.Status.DEAD])
        if first_post.exists():
            raise NotPostedYetError
        raise NoChannelError("This ticket's card was never posted in the IT channel; there is nothing to update.")
    channel = channel_for_ticket(ticket)
    if channel is None:
        raise NoChannelError("No IT channel is chosen, or the bot was removed from it.")
    answer = graph.bot_send(
        channel.service_url,
        channel.channel_id,
        _card_activity(cards.channel_ticket_card(_fresh(ticket)), channel),
        token=graph.bot_token(),
    )
    activity_id = str(answer.get("id") or "")
    if not activity_id:
        logger.warning("The Bot Connector gave no id for the card of ticket %s: it cannot be updated", ticket.pk)
        return
    try:
        with transaction.atomic():
            BotCard.objects.create(
                ticket=ticket,
                channel=channel,
                conversation_id=channel.channel_id,
                service_url=channel.service_url,
                activity_id=activity_id,
            )
    except IntegrityError:  # a repeat of the first post (at least once): the first card stays the one updated
        logger.info("Ticket %s has a card in the channel already; the repeat is not tracked", ticket.pk)


def _created_kind() -> str:
    from teams_app import activity_types

    return activity_types.TICKET_CREATED.type


def _fresh(ticket):
    """The ticket as it is now, not as the outbox row was written: the card shows the present."""
    from tickets.models import Ticket

    return Ticket.objects.select_related("requester", "assignee", "problem_source").get(pk=ticket.pk)


def _card_activity(card: dict[str, Any], channel: BotChannel) -> dict[str, Any]:
    from teams_app import cards

    return {
        "type": "message",
        "from": {"id": channel.bot_chat_id},
        "conversation": {"id": channel.channel_id, "isGroup": True, "conversationType": "channel"},
        "attachments": [cards.attachment(card)],
    }


def record_chat_card(*, ticket, user, conversation_id: str, service_url: str, answer: dict[str, Any]) -> None:
    """Keep the id of a ticket card posted in a person's chat, so a reply in its thread is understood."""
    activity_id = str(answer.get("id") or "")
    if not activity_id or ticket is None:
        return
    BotCard.objects.get_or_create(
        conversation_id=conversation_id,
        activity_id=activity_id,
        defaults={"ticket": ticket, "user": user, "service_url": service_url},
    )
