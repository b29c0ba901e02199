"""Putting the work of a worker that stopped mid-task back in the queue, without an operator.

django-background-tasks locks a task with the worker's process id (``locked_by``) and only runs it
again once the lock is older than MAX_RUN_TIME (an hour): after a killed worker, the rest of its
batch would wait that long, and the notification it was sending would stay "sending" for good.
``run_worker`` calls :func:`recover` when it starts and after it lost the database, when it runs no
task itself: then every lock held by a process that is gone, or by this very process (a restarted
container's worker often gets the same pid), is abandoned. It calls :func:`release_stale` now and
then for rows that stayed "sending" some other way.
"""

import logging
import os

from background_task.models import Task

from teams_app.models import Notification

logger = logging.getLogger(__name__)

ABANDONED = "The worker stopped during this delivery; sent again (it may arrive twice)."


def _process_alive(pid: str | None) -> bool:
    try:
        os.kill(int(pid), 0)  # signal 0: only asks whether the process exists
    except (TypeError, ValueError, ProcessLookupError):
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _notification_ids(task: Task) -> list[int]:
    """The notifications a delivery task names: one id, or a list of them."""
    from teams_app.delivery_queue import deliver_notification, deliver_notifications

    if task.task_name not in (deliver_notification.name, deliver_notifications.name):
        return []
    args, _kwargs = task.params()
    first = args[0] if args else []
    return [int(pk) for pk in (first if isinstance(first, list) else [first])]


def recover(*, own_pid: int) -> tuple[int, int]:
    """Unlock the tasks of workers that are gone and release their notifications; call only while
    this process runs no task. Returns (tasks unlocked, notifications released)."""
    abandoned = [
        task
        for task in Task.objects.filter(locked_by__isnull=False, failed_at=None)
        if task.locked_by == str(own_pid) or not _process_alive(task.locked_by)
    ]
    if not abandoned:
        return 0, release_stale()
    Task.objects.filter(pk__in=[task.pk for task in abandoned]).update(locked_by=None, locked_at=None)
    ids = [pk for task in abandoned for pk in _notification_ids(task)]
    released = Notification.objects.filter(pk__in=ids).release(ABANDONED)
    logger.warning(
        "Recovered %d task(s) of a stopped worker; %d notification(s) due again", len(abandoned), len(released)
    )
    return len(abandoned), len(released) + release_stale()


def release_stale() -> int:
    """Rows "sending" for longer than models.STALE_SENDING_AFTER are due again."""
    released = Notification.objects.stale_sending().release(ABANDONED)
    if released:
        logger.warning("%d notification(s) were stuck in 'sending'; due again", len(released))
    return len(released)
