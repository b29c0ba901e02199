"""django-background-tasks' ``process_tasks`` loop, with a heartbeat for /healthz.

Production runs exactly one of these (compose service ``worker``). Every pass of the loop asks the
task runner for the next task; this command wraps the runner so that such a pass also records the
"worker" heartbeat, at most every HEARTBEAT_EVERY seconds. A worker stuck in one task stops beating.
"""

import time

from background_task.management.commands.process_tasks import Command as ProcessTasksCommand

from core.models import Heartbeat

HEARTBEAT_EVERY = 15.0


class _BeatingRunner:
    def __init__(self, runner):
        self._runner = runner
        self._last_beat = 0.0

    def run_next_task(self, queue=None):
        if time.monotonic() - self._last_beat >= HEARTBEAT_EVERY:
            Heartbeat.beat("worker")
            self._last_beat = time.monotonic()
        return self._runner.run_next_task(queue)


class Command(ProcessTasksCommand):
    help = "Deliver queued notifications (process_tasks) and record the worker heartbeat for /healthz."

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._tasks = _BeatingRunner(self._tasks)
