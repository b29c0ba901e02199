"""Who hears of a ticket change, and over which channel: the Notification rows and their tasks.

``notify`` runs inside the transaction of the ticket workflow (``tickets.services``) and writes one
Notification row per recipient and channel plus one delivery task per row; workers send them later.

The rules:
- IT staff hear of new tickets (and the Teams channel webhook, when configured, gets a card).
- The assignee hears that a ticket was assigned to them, and of the requester's comments.
- When an agent hands a ticket to an IT team, the team's present members hear of it (as "assigned").
- The requester hears of public replies, and of status changes to waiting, resolved and closed.
- Internal notes and other internal events reach IT staff only; never the requester.
- People affected by a ticket (tickets.known_issues) hear, as a status change of their ticket, when
  its known-issue status text changes and when it is resolved or closed; the requester hears of a
  new status text too. One such notification per person and change.
- Nobody hears of their own action; inactive people hear nothing.
- Each person chooses per kind any combination of "Teams chat" (a ticket card in their chat with the
  app, channel "chat"), "Teams activity feed" (channel "teams") and e-mail, or none. Without a
  choice: chat and feed for people who sign in with Microsoft, e-mail for everyone else. The chat
  needs the app in their Teams (a conversation reference); without it the feed is used. The feed
  needs a Microsoft account (its object id) and Microsoft sign-in configured; without them e-mail
  is used. E-mail needs an address; without one that channel is skipped.
- The IT channel (``teams_app.channels``) gets a card of every new ticket, updated on every change.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.db import transaction
from social_django.models import UserSocialAuth

from accounts.roles import agents
from teams_app import activity_types
from teams_app.models import CHANNEL_UPDATE_KIND, BotConversation, Notification, NotificationPreference
from tickets.models import AffectedPerson, Ticket, TicketEvent

PROVIDER = "azuread-v2-tenant-oauth2"  # accounts.tokens.PROVIDER; the uid is the Entra object id

Kind = TicketEvent.Kind
Channel = Notification.Channel

STATUSES_THE_REQUESTER_HEARS_OF = {Ticket.Status.WAITING, Ticket.Status.RESOLVED, Ticket.Status.CLOSED}
FINISHED = {Ticket.Status.RESOLVED, Ticket.Status.CLOSED}

# Which kinds each role can receive (the settings page offers these).
REQUESTER_KINDS = (activity_types.TICKET_REPLY.type, activity_types.TICKET_STATUS.type)
AGENT_KINDS = tuple(activity.type for activity in activity_types.ALL)


def kinds_for(user) -> tuple[str, ...]:
    return AGENT_KINDS if user.is_agent else REQUESTER_KINDS


def teams_user_ids(user_ids: Iterable[int]) -> set[int]:
    """Those of these users who sign in with Microsoft (and so can be reached in Teams)."""
    if not settings.ENTRA_ENABLED:
        return set()
    return set(
        UserSocialAuth.objects.filter(provider=PROVIDER, user_id__in=list(user_ids)).values_list("user_id", flat=True)
    )


def bot_chat_user_ids(user_ids: Iterable[int]) -> set[int]:
    """Those of these users whom the bot can reach in their chat with the app."""
    if not settings.TEAMS_BOT_ENABLED:
        return set()
    return set(BotConversation.objects.filter(user_id__in=list(user_ids)).values_list("user_id", flat=True))


def default_ways(*, has_teams: bool) -> str:
    """Without a choice: chat and activity feed for Microsoft accounts, e-mail for everyone else."""
    if has_teams:
        return NotificationPreference.join([NotificationPreference.CHAT, NotificationPreference.FEED])
    return NotificationPreference.EMAIL


def channels(choice: str, *, has_teams: bool, has_email: bool, in_chat: bool = False) -> list[str]:
    """The outbox channels a preference resolves to for one person. A way that cannot reach them
    gives way to the next: the chat (the app not in their Teams yet) to the activity feed, the feed
    (no Microsoft account) to e-mail; e-mail needs an address."""
    wanted = NotificationPreference.split(choice)
    result = []
    if NotificationPreference.CHAT in wanted:
        if in_chat:
            result.append(Channel.CHAT)
        else:
            wanted.add(NotificationPreference.FEED)
    if NotificationPreference.FEED in wanted:
        if has_teams:
            result.append(Channel.TEAMS)
        else:
            wanted.add(NotificationPreference.EMAIL)
    if NotificationPreference.EMAIL in wanted and has_email:
        result.append(Channel.EMAIL)
    return result


@dataclass(frozen=True)
class _Audience:
    event: TicketEvent
    kind: str
    recipients: list


def _audiences(event: TicketEvent, ticket: Ticket, affected: Callable[[], list]) -> list[_Audience]:
    """Who hears of one event, before preferences, own actions and visibility are applied."""
    if event.kind == Kind.CREATED:
        return [_Audience(event, activity_types.TICKET_CREATED.type, list(agents()))]
    if event.kind == Kind.ASSIGNMENT and ticket.assignee_id and str(ticket.assignee_id) == event.new_value:
        return [_Audience(event, activity_types.TICKET_ASSIGNED.type, [ticket.assignee])]
    if event.kind == Kind.COMMENT:
        if event.actor_id == ticket.requester_id:
            return [_Audience(event, activity_types.TICKET_COMMENT.type, [ticket.assignee] if ticket.assignee else [])]
        return [_Audience(event, activity_types.TICKET_REPLY.type, [ticket.requester])]
    if event.kind == Kind.TEAM and event.actor_id and ticket.team_id and str(ticket.team_id) == event.new_value:
        # An agent handed the ticket to a team: its present members hear of it as of an assignment.
        from tickets.routing import team_members_to_notify

        return [_Audience(event, activity_types.TICKET_ASSIGNED.type, team_members_to_notify(ticket))]
    audiences = []
    if event.kind == Kind.STATUS and event.new_value in STATUSES_THE_REQUESTER_HEARS_OF:
        audiences.append(_Audience(event, activity_types.TICKET_STATUS.type, [ticket.requester]))
    if event.kind == Kind.KNOWN_ISSUE or (event.kind == Kind.STATUS and event.new_value in FINISHED):
        people = list(affected())  # read once per change, only when such an event needs it
        if event.kind == Kind.KNOWN_ISSUE:
            people.append(ticket.requester)
        audiences.append(_Audience(event, activity_types.TICKET_STATUS.type, people))
    return audiences


@transaction.atomic(savepoint=False)  # part of the caller's change: both are written, or neither
def notify(events: Iterable[TicketEvent], *, ticket: Ticket | None = None) -> list[Notification]:
    """Write the Notification rows for these events (saved, of one ticket's change) and schedule
    their delivery, in the caller's transaction. Returns the rows written.

    ``ticket``: the events' ticket as the change left it, with requester and assignee loaded, if
    the caller has it (the workflows do); else it is read.
    """
    from teams_app.delivery_queue import deliver_notifications

    events = [event for event in events if event.pk is not None]
    if not events:
        return []
    if ticket is None or ticket.pk != events[0].ticket_id:
        ticket = Ticket.objects.select_related("requester", "assignee").get(pk=events[0].ticket_id)
    affected = cache(
        lambda: [row.user for row in AffectedPerson.objects.filter(ticket_id=ticket.pk).select_related("user")]
    )
    audiences = [audience for event in events for audience in _audiences(event, ticket, affected)]

    wanted: list[tuple[_Audience, object]] = []
    status_heard: set[int] = set()
    for audience in audiences:
        for person in audience.recipients:
            if person is None or not person.is_active or person.pk == audience.event.actor_id:
                continue  # nobody hears of their own action
            if audience.event.is_internal and not person.is_agent:
                continue  # internal notes and what hangs on them never reach employees
            if audience.kind == activity_types.TICKET_STATUS.type:
                if person.pk in status_heard:
                    continue  # a new known-issue text and the resolve of one change: heard once
                status_heard.add(person.pk)
            wanted.append((audience, person))

    rows = person_rows([(audience.event, audience.kind, person) for audience, person in wanted])
    if settings.TEAMS_WEBHOOK_URL:
        for event in events:
            if event.kind == Kind.CREATED:
                rows.append(_row(event, activity_types.TICKET_CREATED.type, Channel.WEBHOOK, None))

    if settings.TEAMS_BOT_ENABLED:
        rows += _it_channel_rows(events, ticket)

    # One row per event, person and channel, even if a workflow reported an event twice.
    rows = list({row.dedupe_key: row for row in rows}.values())
    existing = set(
        Notification.objects.filter(dedupe_key__in=[row.dedupe_key for row in rows]).values_list(
            "dedupe_key", flat=True
        )
    )
    rows = Notification.objects.bulk_create([row for row in rows if row.dedupe_key not in existing])
    if rows:
        deliver_notifications([row.pk for row in rows])
    return rows


def person_rows(wanted: list[tuple[TicketEvent, str, object]]) -> list[Notification]:
    """The rows for (event, kind, person) triples, each person's choice for the kind resolved to
    channels (Teams only for Microsoft accounts, a chat card where the bot can reach them); at most
    three queries however many people and events. Used by ``notify`` and, for many tickets at once,
    by ``teams_app.sla_notifications``."""
    person_ids = {person.pk for _event, _kind, person in wanted}
    with_teams = teams_user_ids(person_ids)
    choices = {
        (user_id, kind): channel
        for user_id, kind, channel in NotificationPreference.objects.filter(user_id__in=person_ids).values_list(
            "user_id", "kind", "channel"
        )
    }
    in_bot_chat = bot_chat_user_ids(with_teams)
    rows = []
    for event, kind, person in wanted:
        has_teams = person.pk in with_teams
        choice = choices.get((person.pk, kind), default_ways(has_teams=has_teams))
        in_chat = person.pk in in_bot_chat
        for channel in channels(choice, has_teams=has_teams, has_email=bool(person.email), in_chat=in_chat):
            rows.append(_row(event, kind, channel, person))
    return rows


def _it_channel_rows(events: list[TicketEvent], ticket: Ticket) -> list[Notification]:
    """The IT channel's card: posted for a new ticket (when there is a channel for it), and brought up
    to date by one row per later change of a ticket that has a card there (teams_app.channels)."""
    from teams_app import channels

    created = [event for event in events if event.kind == Kind.CREATED]
    if created:
        if channels.channel_for_ticket(ticket) is None:
            return []
        return [_row(created[0], activity_types.TICKET_CREATED.type, Channel.IT_CHANNEL, None)]
    if not Notification.objects.filter(ticket_id=ticket.pk, channel=Channel.IT_CHANNEL).exists():
        return []  # never posted there: nothing to update
    return [_row(events[-1], CHANNEL_UPDATE_KIND, Channel.IT_CHANNEL, None)]


def _row(event: TicketEvent, kind: str, channel: str, recipient) -> Notification:
    recipient_id = recipient.pk if recipient is not None else None
    return Notification(
        recipient=recipient,
        channel=channel,
        kind=kind,
        ticket_id=event.ticket_id,
        event=event,
        dedupe_key=Notification.make_dedupe_key(event.pk, recipient_id, channel),
    )
