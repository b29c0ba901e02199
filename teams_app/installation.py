"""Installing the Teams app for everyone who signs in with Microsoft, so that the bot can write to
them: Teams then sends the bot an installationUpdate, which stores the chat and posts the welcome
card (teams_app.bot).

Only with TEAMS_BOT_INSTALL_FOR_EVERYONE, which says that the application permission
TeamsAppInstallation.ReadWriteForUser.All is granted; without it, admins install the app with a
Teams setup policy. Run by the scheduler (tickets.scheduled); each run handles a bounded number of
people, and a person already installed costs one call answered 409.
"""

import logging
import uuid
from dataclasses import dataclass

from django.conf import settings
from social_django.models import UserSocialAuth

from core import microsoft
from teams_app.notifications import PROVIDER

logger = logging.getLogger(__name__)

PEOPLE_PER_RUN = 200


@dataclass(frozen=True)
class InstallResult:
    installed: int = 0
    already: int = 0
    failed: int = 0
    stopped: str = ""  # why the run stopped early, if it did


def people_without_the_bot(limit: int = PEOPLE_PER_RUN) -> list[tuple[int, str]]:
    """(user id, object id) of active Microsoft users whose chat with the app is not known yet."""
    rows = (
        UserSocialAuth.objects.filter(provider=PROVIDER, user__is_active=True, user__bot_conversation__isnull=True)
        .order_by("user_id")
        .values_list("user_id", "uid")[:limit]
    )
    people = []
    for user_id, uid in rows:
        try:
            people.append((user_id, str(uuid.UUID(uid))))
        except ValueError:
            continue
    return people


def install_for_everyone(*, limit: int = PEOPLE_PER_RUN) -> InstallResult:
    if not (settings.TEAMS_BOT_ENABLED and settings.TEAMS_BOT_INSTALL_FOR_EVERYONE and settings.TEAMS_APP_ID):
        return InstallResult(stopped="off")
    people = people_without_the_bot(limit)
    if not people:
        return InstallResult()
    try:
        token = microsoft.call_with_retry(microsoft.app_token)
        catalog_id = microsoft.call_with_retry(
            lambda: microsoft.teams_app_catalog_id(settings.TEAMS_APP_ID, token=token)
        )
    except microsoft.MicrosoftError as error:
        logger.warning("Installing the Teams app: the app catalog could not be read: %s", error)
        return InstallResult(stopped=str(error))
    if catalog_id is None:
        logger.warning("Installing the Teams app: it is not in the app catalog yet (upload the package first)")
        return InstallResult(stopped="not in the app catalog")
    installed = already = failed = 0
    for _user_id, oid in people:
        try:
            if microsoft.call_with_retry(lambda oid=oid: microsoft.install_teams_app(oid, catalog_id, token=token)):
                installed += 1
            else:
                already += 1
        except microsoft.MicrosoftError as error:
            if error.status in (401, 403):  # the permission is missing: every further call would fail
                logger.warning("Installing the Teams app was refused: %s", error)
                return InstallResult(installed, already, failed, stopped=str(error))
            failed += 1
            logger.info("Installing the Teams app for %s failed: %s", oid, error)
    return InstallResult(installed, already, failed)
