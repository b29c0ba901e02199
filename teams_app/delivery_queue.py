"""The background task that delivers one notification (django-background-tasks, ``process_tasks``).

The task row is written by ``teams_app.notifications.notify`` in the same transaction as the ticket
change, so a change that rolls back sends nothing and a committed one is never lost. Retries are new
tasks scheduled by ``teams_app.delivery`` (honouring Retry-After), not the library's own backoff:
this function does not raise for delivery failures.
"""

from background_task import background

from teams_app import delivery


@background(schedule=0)
def deliver_notification(notification_id: int) -> None:
    delivery.deliver(notification_id)


@background(schedule=0)
def deliver_notifications(notification_ids: list[int]) -> None:
    """One task for all notifications of one change: a new ticket can address every IT agent, and a
    task row per recipient would make filing a ticket cost a query per agent."""
    for notification_id in notification_ids:
        delivery.deliver(notification_id)
