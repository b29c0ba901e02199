"""The outbox rows for service-level warnings (``tickets.sla_alerts``), for many tickets at once.

``teams_app.notifications.notify`` serves one ticket's change; the warning job announces events of
hundreds of tickets in one run, so this writes their rows with notify's own rules
(``teams_app.notifications.person_rows``: each person's choice for the kind, Teams only for Microsoft
accounts, a chat card where the bot can reach them), nobody inactive, in a fixed number of queries.
"""

from collections.abc import Iterable

from django.db import transaction

from teams_app import activity_types
from teams_app.models import Notification
from teams_app.notifications import person_rows

KIND = activity_types.TICKET_SLA.type


@transaction.atomic(savepoint=False)
def notify_sla_events(pairs: Iterable[tuple]) -> list[Notification]:
    """``pairs``: (saved event, its recipients). Writes the rows and schedules their delivery."""
    from teams_app.delivery_queue import deliver_notifications

    # The recipients are IT staff by construction (tickets.sla_alerts.sla_alert_recipients).
    wanted = [
        (event, KIND, person) for event, people in pairs for person in people if person is not None and person.is_active
    ]
    if not wanted:
        return []
    # One row per event, person and channel, even if a person was named twice for an event.
    rows = {row.dedupe_key: row for row in person_rows(wanted)}
    written = Notification.objects.bulk_create(rows.values())
    if written:
        deliver_notifications([row.pk for row in written])
    return written
