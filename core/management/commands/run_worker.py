"""django-background-tasks' ``process_tasks`` loop, with a heartbeat for /healthz, that survives the
database going away and picks up what a stopped worker left behind.

Production runs exactly one of these (compose service ``worker``). Every pass of the loop asks the
task runner for the next task; this command wraps the runner so that such a pass also

- records the "worker" heartbeat, at most every HEARTBEAT_EVERY seconds (a worker stuck in one task
  stops beating);
- first closes a database connection that broke or grew too old, as Django does between requests:
  the library's loop only does so when the queue is empty;
- survives a database error (logged; the loop sleeps and tries again) instead of ending the process;
- at the start and after such an error, unlocks the tasks of workers that are gone and sends their
  notifications again (``teams_app.recovery``), and every RELEASE_STALE_EVERY seconds releases rows
  left "sending" too long.
"""

import logging
import os
import time

from background_task.management.commands.process_tasks import Command as ProcessTasksCommand
from django.db import DatabaseError, close_old_connections

from core.models import Heartbeat
from teams_app import recovery

logger = logging.getLogger(__name__)

HEARTBEAT_EVERY = 15.0
RELEASE_STALE_EVERY = 60.0


class _BeatingRunner:
    def __init__(self, runner):
        self._runner = runner
        self._last_beat = 0.0
        self._last_release = 0.0
        self._must_recover = True  # at the start: a previous worker may have been killed mid-task

    def run_next_task(self, queue=None):
        close_old_connections()
        try:
            self._housekeeping()
            return self._runner.run_next_task(queue)
        except DatabaseError:
            logger.exception("The worker lost the database; trying again shortly")
            self._must_recover = True  # a task of ours may be locked and its row left "sending"
            return False  # the loop sleeps, then calls again

    def _housekeeping(self) -> None:
        now = time.monotonic()
        if now - self._last_beat >= HEARTBEAT_EVERY:
            Heartbeat.beat("worker")
            self._last_beat = now
        if self._must_recover:
            recovery.recover(own_pid=os.getpid())
            self._must_recover = False
            self._last_release = now
        elif now - self._last_release >= RELEASE_STALE_EVERY:
            recovery.release_stale()
            self._last_release = now


class Command(ProcessTasksCommand):
    help = "Deliver queued notifications (process_tasks) and record the worker heartbeat for /healthz."

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._tasks = _BeatingRunner(self._tasks)
