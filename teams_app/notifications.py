"""Who hears of a ticket change, and over which channel: the Notification rows and their tasks.

``notify`` runs inside the transaction of the ticket workflow (``tickets.services``) and writes one
Notification row per recipient and channel plus one delivery task per row; workers send them later.

The rules:
- IT staff hear of new tickets (and the Teams channel webhook, when configured, gets a card).
- The assignee hears that a ticket was assigned to them, and of the requester's comments.
- The requester hears of public replies, and of status changes to waiting, resolved and closed.
- Internal notes and other internal events reach IT staff only; never the requester.
- People affected by a ticket (tickets.known_issues) hear, as a status change of their ticket, when
  its known-issue status text changes and when it is resolved or closed; the requester hears of a
  new status text too. One such notification per person and change.
- Nobody hears of their own action; inactive people hear nothing.
- Each person chooses per kind: Teams, e-mail, both or none. Without a choice: Teams for people who
  sign in with Microsoft, e-mail for everyone else. Teams is the activity feed and, for people the
  bot can reach in their chat with the app, also a ticket card there (channel "chat"). Teams needs a
  Microsoft account (its object id) and Microsoft sign-in configured; without them a Teams choice is
  delivered by e-mail. E-mail needs an address; without one that channel is skipped.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from social_django.models import UserSocialAuth

from accounts.roles import agents
from teams_app import activity_types
from teams_app.models import BotConversation, Notification, NotificationPreference
from tickets.models import AffectedPerson, Ticket, TicketEvent

PROVIDER = "azuread-v2-tenant-oauth2"  # accounts.tokens.PROVIDER; the uid is the Entra object id

Kind = TicketEvent.Kind
Choice = NotificationPreference.Choice
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


def default_choice(*, has_teams: bool) -> str:
    return Choice.TEAMS if has_teams else Choice.EMAIL


def channels(choice: str, *, has_teams: bool, has_email: bool) -> list[str]:
    """The channels a preference resolves to for one person."""
    wanted = {Choice.TEAMS: [Channel.TEAMS], Choice.EMAIL: [Channel.EMAIL], Choice.BOTH: [Channel.TEAMS, Channel.EMAIL]}
    result = []
    for channel in wanted.get(choice, []):
        if channel == Channel.TEAMS and not has_teams:
            channel = Channel.EMAIL  # Teams cannot reach them; e-mail can
        if channel == Channel.EMAIL and not has_email:
            continue
        if channel not in result:
            result.append(channel)
    return result


@dataclass(frozen=True)
class _Audience:
    event: TicketEvent
    kind: str
    recipients: list


def _audiences(event: TicketEvent, ticket: Ticket) -> list[_Audience]:
    """Who hears of one event, before preferences, own actions and visibility are applied."""
    if event.kind == Kind.CREATED:
        return [_Audience(event, activity_types.TICKET_CREATED.type, list(agents()))]
    if event.kind == Kind.ASSIGNMENT and ticket.assignee_id and str(ticket.assignee_id) == event.new_value:
        return [_Audience(event, activity_types.TICKET_ASSIGNED.type, [ticket.assignee])]
    if event.kind == Kind.COMMENT:
        if event.actor_id == ticket.requester_id:
            return [_Audience(event, activity_types.TICKET_COMMENT.type, [ticket.assignee] if ticket.assignee else [])]
        return [_Audience(event, activity_types.TICKET_REPLY.type, [ticket.requester])]
    audiences = []
    if event.kind == Kind.STATUS and event.new_value in STATUSES_THE_REQUESTER_HEARS_OF:
        audiences.append(_Audience(event, activity_types.TICKET_STATUS.type, [ticket.requester]))
    if event.kind == Kind.KNOWN_ISSUE or (event.kind == Kind.STATUS and event.new_value in FINISHED):
        # Only what the event's ticket is affected by is read, and only for these events.
        people = [row.user for row in AffectedPerson.objects.filter(ticket_id=ticket.pk).select_related("user")]
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
    audiences = [audience for event in events for audience in _audiences(event, ticket)]

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

    person_ids = {person.pk for _audience, person in wanted}
    with_teams = teams_user_ids(person_ids)
    choices = {
        (preference.user_id, preference.kind): preference.channel
        for preference in NotificationPreference.objects.filter(user_id__in=person_ids)
    }

    in_bot_chat = bot_chat_user_ids(with_teams)

    rows: list[Notification] = []
    for audience, person in wanted:
        has_teams = person.pk in with_teams
        choice = choices.get((person.pk, audience.kind), default_choice(has_teams=has_teams))
        for channel in channels(choice, has_teams=has_teams, has_email=bool(person.email)):
            rows.append(_row(audience.event, audience.kind, channel, person))
            if channel == Channel.TEAMS and person.pk in in_bot_chat:
                # Teams means the activity feed and, where the app's chat is known, a card there.
                rows.append(_row(audience.event, audience.kind, Channel.CHAT, person))
    if settings.TEAMS_WEBHOOK_URL:
        for event in events:
            if event.kind == Kind.CREATED:
                rows.append(_row(event, activity_types.TICKET_CREATED.type, Channel.WEBHOOK, None))

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
