"""The outbox rows for service-level warnings (``tickets.sla_alerts``), for many tickets at once.

``teams_app.notifications.notify`` serves one ticket's change; the warning job announces events of
hundreds of tickets in one run, so this writes their rows with the same rules (each person's choice
for the kind, Teams only for Microsoft accounts, a chat card where the bot can reach them, nobody
inactive) in a fixed number of queries.
"""

from collections.abc import Iterable

from django.db import transaction

from teams_app import activity_types
from teams_app.models import Notification, NotificationPreference
from teams_app.notifications import bot_chat_user_ids, channels, default_ways, teams_user_ids

Channel = Notification.Channel
KIND = activity_types.TICKET_SLA.type


@transaction.atomic(savepoint=False)
def notify_sla_events(pairs: Iterable[tuple]) -> list[Notification]:
    """``pairs``: (saved event, its recipients). Writes the rows and schedules their delivery."""
    from teams_app.delivery_queue import deliver_notifications

    # The recipients are IT staff by construction (tickets.sla_alerts.sla_alert_recipients).
    wanted = [
        (event, person) for event, people in pairs for person in people if person is not None and person.is_active
    ]
    if not wanted:
        return []
    person_ids = {person.pk for _event, person in wanted}
    with_teams = teams_user_ids(person_ids)
    in_bot_chat = bot_chat_user_ids(with_teams)
    choices = dict(
        NotificationPreference.objects.filter(user_id__in=person_ids, kind=KIND).values_list("user_id", "channel")
    )
    rows = {}
    for event, person in wanted:
        has_teams = person.pk in with_teams
        choice = choices.get(person.pk, default_ways(has_teams=has_teams))
        in_chat = person.pk in in_bot_chat
        for channel in channels(choice, has_teams=has_teams, has_email=bool(person.email), in_chat=in_chat):
            key = Notification.make_dedupe_key(event.pk, person.pk, channel)
            rows[key] = Notification(
                recipient=person, channel=channel, kind=KIND, ticket_id=event.ticket_id, event=event, dedupe_key=key
            )
    written = Notification.objects.bulk_create(rows.values())
    if written:
        deliver_notifications([row.pk for row in written])
    return written
