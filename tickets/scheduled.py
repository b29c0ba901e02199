"""huey periodic tasks: thin wrappers around ``tickets.jobs``, run by the one huey consumer
(`manage.py run_huey`). Every job is idempotent, so running each often is harmless: the reminders
and the digest decide themselves whether their hour has come and whether they were sent already.

``TicketsConfig.ready`` imports this module, which registers the tasks: huey's ``run_huey`` only
discovers modules named ``tasks``. (This module is not ``tasks.py`` so that its name says which of the
two background systems it belongs to; the notification delivery is ``teams_app.delivery_queue``.)
"""

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from core.models import Heartbeat
from tickets import jobs
from tickets import mail_intake as mail_intake_module
from tickets import sla_alerts as sla_alerts_module

logger = logging.getLogger(__name__)

EVERY_15_MINUTES = crontab(minute="*/15")


@db_periodic_task(crontab(minute="*"))
def scheduler_heartbeat() -> None:
    """/healthz reports the age of this beat as the scheduler's."""
    Heartbeat.beat("scheduler")


@db_periodic_task(EVERY_15_MINUTES)
@lock_task("ticket-workflow-jobs")
def ticket_workflow_jobs() -> None:
    # Resolve before reminding, so a ticket past both limits is resolved instead of reminded.
    for job in (jobs.resolve_abandoned, jobs.close_resolved, jobs.remind_waiting, jobs.remind_overdue):
        result = job()
        if result.sent or result.changed:
            logger.info("%s: %d sent, tickets changed: %s", job.__name__, result.sent, result.changed)


@db_periodic_task(EVERY_15_MINUTES)
@lock_task("digest")
def daily_digest() -> None:
    result = jobs.send_digest()
    if result.sent:
        logger.info("Digest sent to %d people", result.sent)


@db_periodic_task(crontab(minute="30", hour="3"))
def prune_old_rows() -> None:
    result = jobs.prune()
    logger.info("Pruned %d old rows and %d orphaned attachment files", result.deleted, result.files_deleted)


@db_periodic_task(crontab(minute="*"))
@lock_task("mail-intake")
def mail_intake() -> None:
    """The help-desk mailbox (MAIL_INTAKE_MAILBOX) becomes tickets; off while it is empty."""
    result = mail_intake_module.run()
    if result.collected or result.processed:
        logger.info("Mail intake: %d new messages, processed %s", result.collected, result.processed)


@db_periodic_task(crontab(minute="45"))
@lock_task("teams-app-installation")
def install_teams_app() -> None:
    """Once an hour: the Teams app for people the bot cannot reach yet (TEAMS_BOT_INSTALL_FOR_EVERYONE)."""
    from teams_app import installation

    result = installation.install_for_everyone()
    if result.installed or result.failed:
        logger.info("Teams app installed for %d people, %d failed", result.installed, result.failed)


@db_periodic_task(crontab(minute="*/5"))
@lock_task("sla-alerts")
def sla_alerts() -> None:
    """Service-level warnings at 80 % of a target and on breach, once per ticket, target and threshold."""
    result = sla_alerts_module.run()
    if result.warned or result.breached:
        logger.info(
            "SLA: %d warned, %d breached, %d notifications",
            len(result.warned),
            len(result.breached),
            result.notifications,
        )
