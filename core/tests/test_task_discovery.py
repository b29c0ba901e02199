"""Both background systems find their tasks in a fresh process, although neither module is named
``tasks.py`` (the name huey's ``run_huey`` and django-background-tasks' ``process_tasks`` look for)."""

import json
import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

REGISTRIES = """
import json
import django

django.setup()

from background_task.tasks import tasks
from huey.contrib.djhuey import HUEY

print(json.dumps({
    "huey_periodic": sorted(HUEY._registry.task_to_string(task) for task in HUEY._registry._periodic_tasks),
    "background": sorted(tasks._tasks),
}))
"""


def test_a_fresh_process_registers_the_periodic_jobs_and_the_delivery_task():
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DATABASE_URL", "REDIS_URL"))}
    env["DJANGO_SETTINGS_MODULE"] = "core.settings"
    answer = subprocess.run(
        [sys.executable, "-c", REGISTRIES],
        env=env,
        cwd=Path(settings.BASE_DIR),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    registered = json.loads(answer.stdout.strip().splitlines()[-1])

    assert registered["huey_periodic"] == [
        "tickets.scheduled.daily_digest",
        "tickets.scheduled.install_teams_app",
        "tickets.scheduled.mail_intake",
        "tickets.scheduled.prune_old_rows",
        "tickets.scheduled.scheduler_heartbeat",
        "tickets.scheduled.sla_alerts",
        "tickets.scheduled.ticket_workflow_jobs",
    ]
    # The names stored in queued task rows, unchanged since the module was teams_app/tasks.py.
    assert registered["background"] == [
        "teams_app.tasks.attach_message_images",  # the images of a Teams message turned into a ticket
        "teams_app.tasks.deliver_notification",
        "teams_app.tasks.deliver_notifications",
    ]
