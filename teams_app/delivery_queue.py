"""The background task that delivers one notification (django-background-tasks, ``process_tasks``).

The task row is written by ``teams_app.notifications.notify`` in the same transaction as the ticket
change, so a change that rolls back sends nothing and a committed one is never lost. Retries are new
tasks scheduled by ``teams_app.delivery`` (honouring Retry-After), not the library's own backoff:
this function does not raise for delivery failures.

The worker (``run_worker``, django-background-tasks' ``process_tasks``) only looks for modules named
``tasks``; this one is registered by ``TeamsAppConfig.ready``. The task names are the ones stored in
the task rows and stay as they were when this module was ``teams_app/tasks.py``: rows queued before
the rename must still find their function, or their notifications would never be sent.
"""

from background_task import background

from teams_app import delivery


@background(schedule=0, name="teams_app.tasks.deliver_notification")
def deliver_notification(notification_id: int) -> None:
    delivery.deliver(notification_id)


@background(schedule=0, name="teams_app.tasks.deliver_notifications")
def deliver_notifications(notification_ids: list[int]) -> None:
    """One task for all notifications of one change: a new ticket can address every IT agent, and a
    task row per recipient would make filing a ticket cost a query per agent."""
    for notification_id in notification_ids:
        delivery.deliver(notification_id)
