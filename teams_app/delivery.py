"""Delivering one Notification row: claim it, send it, record the outcome. Runs in workers only.

A row is claimed by one conditional UPDATE (pending, or failed and due → sending); whoever updates
no row returns without sending, so two tasks for one row send it once. It is marked sent by another
conditional UPDATE after the send. A worker killed, or cut off from the database, between the two
leaves the row in "sending": the database error path here and the worker (``teams_app.recovery``,
run by ``run_worker``) put such rows back in the queue. Delivery is at least once: the attempt that
was cut off may have arrived.

Failures: a 429 waits for its Retry-After and uses up no attempt: throttling is bounded by time
(NOTIFICATION_THROTTLE_HOURS after the row was written). 5xx, timeouts and other transient errors
back off exponentially (NOTIFICATION_BACKOFF_SECONDS doubling up to NOTIFICATION_BACKOFF_MAX_SECONDS)
until NOTIFICATION_MAX_ATTEMPTS, then the row is given up. A permanent Teams refusal (app not
installed: 403; unknown user: 404; any other 4xx), or a Teams row given up, switches the row to one
e-mail instead and says so in ``fallback_note``: unless the person also gets this notification by
e-mail anyway, or has no address; then it is dead.

A timeout is ambiguous: Microsoft may have accepted the request before the answer was lost. It is
retried like any transient failure (and counts as an attempt), so a notification can arrive twice.
Repeats are made harmless where the channel allows: a Teams activity carries the row's id as its
``chainId``, so a repeat replaces the first in the feed; an e-mail keeps one Message-ID, by which mail
systems drop duplicates. A card posted to the channel webhook may show twice.
"""

import contextlib
import logging
import uuid
from datetime import timedelta
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import DatabaseError, transaction
from django.db.models import F, Q
from django.utils import timezone
from social_django.models import UserSocialAuth

from core import microsoft as graph
from teams_app import channels, payloads
from teams_app.models import WELCOME_KIND, BotConversation, Notification

logger = logging.getLogger(__name__)

Status = Notification.Status
Channel = Notification.Channel
ERROR_MAX = 500


class UndeliverableError(Exception):
    """Sending this row cannot succeed however often it is tried."""


def deliver(notification_id: int) -> str | None:
    """Try to deliver one notification; returns its new status, or None when it was not ours to send
    (sent already, being sent by another worker, not due yet, or gone)."""
    now = timezone.now()
    claimed = (
        Notification.objects.filter(pk=notification_id)
        .filter(Q(status=Status.PENDING) | Q(status=Status.FAILED, next_attempt_at__lte=now))
        .update(status=Status.SENDING, attempts=F("attempts") + 1, claimed_at=now)
    )
    if not claimed:
        return None
    try:
        return _deliver_claimed(notification_id)
    except DatabaseError:
        # The database went away mid-delivery: the outcome cannot be recorded. Put the row back
        # if the database answers again already; otherwise the worker's recovery does (run_worker).
        with contextlib.suppress(DatabaseError):
            Notification.objects.filter(pk=notification_id).release(_LOST_DATABASE)
        raise


_LOST_DATABASE = "The database connection was lost during this delivery; sent again (it may arrive twice)."


def _deliver_claimed(notification_id: int) -> str | None:
    notification = (
        Notification.objects.select_related(
            "recipient", "ticket__requester", "ticket__problem_source", "event__actor", "event__comment"
        )
        .filter(pk=notification_id)
        .first()
    )
    if notification is None:  # deleted with its ticket meanwhile
        return None
    try:
        if notification.channel == Channel.TEAMS:
            _send_teams(notification)
        elif notification.channel == Channel.WEBHOOK:
            _send_webhook(notification)
        elif notification.channel == Channel.CHAT:
            _send_chat(notification)
        elif notification.channel == Channel.IT_CHANNEL:
            _send_it_channel(notification)
        else:
            _send_email(notification)
    except UndeliverableError as error:
        return _finish(notification, Status.DEAD, error=str(error))
    except channels.NotPostedYetError:
        return _retry_later(
            notification, "The card's first post is not out yet.", retry_after=channels.NOT_POSTED_YET_RETRY_SECONDS
        )
    except graph.MicrosoftError as error:
        if error.permanent:
            return _finish(notification, Status.DEAD, error=str(error))
        return _retry_later(notification, str(error), retry_after=error.retry_after, throttled=error.status == 429)
    except Exception as error:  # SMTP trouble, or a bug: keep the row and try again later
        logger.exception("Delivering notification %s failed", notification.pk)
        return _retry_later(notification, f"{type(error).__name__}: {error}", retry_after=None)
    return _finish(notification, Status.SENT)


# --- Channels -------------------------------------------------------------------------------------


def _send_teams(notification: Notification) -> None:
    oid = _object_id(notification.recipient)
    if oid is None:
        _fall_back_to_email(notification, "no Microsoft account (object id) for this person")
        return
    payload = payloads.activity_payload(notification)
    try:
        graph.send_activity_notification(oid, payload, token=graph.app_token())
    except graph.MicrosoftError as error:
        if not error.permanent:
            raise
        _fall_back_to_email(notification, str(error))


def _send_webhook(notification: Notification) -> None:
    url = settings.TEAMS_WEBHOOK_URL
    if not url:
        raise UndeliverableError("TEAMS_WEBHOOK_URL is not set any more")
    graph.post_json(url, payloads.channel_card(notification))


def _send_chat(notification: Notification) -> None:
    """A card in the person's chat with the bot, posted to the Bot Connector at their serviceUrl."""
    from teams_app import cards  # cards reads tickets, which the outbox does not need otherwise

    recipient = notification.recipient
    reference = BotConversation.objects.filter(user=recipient).first() if recipient is not None else None
    if reference is None:
        raise UndeliverableError("The app is not installed in this person's Teams chat.")
    if notification.kind == WELCOME_KIND or notification.ticket is None:
        card = cards.welcome_card(recipient)
    else:
        card = cards.ticket_card(notification.ticket, recipient, user_ids=[reference.user_chat_id])
    activity = {
        "type": "message",
        "from": {"id": reference.bot_chat_id},
        "recipient": {"id": reference.user_chat_id},
        "conversation": {"id": reference.conversation_id},
        "attachments": [cards.attachment(card)],
    }
    answer = graph.bot_send(reference.service_url, reference.conversation_id, activity, token=graph.bot_token())
    if notification.ticket is not None:
        channels.record_chat_card(
            ticket=notification.ticket,
            user=recipient,
            conversation_id=reference.conversation_id,
            service_url=reference.service_url,
            answer=answer,
        )


def _send_it_channel(notification: Notification) -> None:
    """The ticket's card in the IT channel: posted once, then updated in place (teams_app.channels)."""
    try:
        channels.deliver_channel_card(notification)
    except channels.NoChannelError as error:
        raise UndeliverableError(str(error)) from None


def _send_email(notification: Notification) -> None:
    recipient = notification.recipient
    if recipient is None or not recipient.email:
        raise UndeliverableError("The recipient has no e-mail address.")
    content = payloads.email(notification)
    message = EmailMultiAlternatives(
        subject=content.subject,
        body=content.text,
        to=[recipient.email],
        headers={
            # Keeps out-of-office replies and mail loops away (RFC 3834).
            "Auto-Submitted": "auto-generated",
            # The same on every attempt: mail systems drop a repeat after a timeout as a duplicate.
            "Message-ID": _message_id(notification),
        },
    )
    message.attach_alternative(content.html, "text/html")
    message.send()


def _message_id(notification: Notification) -> str:
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"
    return f"<notification-{notification.pk}.{notification.dedupe_key.replace(':', '.')}@{domain}>"


def _object_id(user) -> str | None:
    """The Entra object id of a person who signs in with Microsoft; None otherwise."""
    uid = (
        UserSocialAuth.objects.filter(user=user, provider="azuread-v2-tenant-oauth2")
        .values_list("uid", flat=True)
        .first()
    )
    try:
        return str(uuid.UUID(uid)) if uid else None  # only ever a GUID in the Graph URL
    except ValueError:
        return None


def _fall_back_to_email(notification: Notification, reason: str) -> None:
    """Teams refused for good: one e-mail instead, on this very row, unless e-mail covers it already."""
    recipient = notification.recipient
    twin = Notification.objects.filter(
        event_id=notification.event_id, recipient_id=notification.recipient_id, channel=Channel.EMAIL
    ).exclude(pk=notification.pk)
    if notification.event_id is not None and twin.exists():
        note = f"Teams: {reason}. No fallback: this person gets this notification by e-mail as well."
        _record(notification, fallback_note=note[:300])
        raise UndeliverableError(reason)
    if not recipient.email:
        _record(notification, fallback_note=f"Teams: {reason}. No e-mail address to fall back to."[:300])
        raise UndeliverableError(reason)
    _record(
        notification,
        channel=Channel.EMAIL,
        attempts=1,  # the e-mail's first attempt: its own failures get the full NOTIFICATION_MAX_ATTEMPTS
        last_error=f"Teams: {reason}"[:ERROR_MAX],
        fallback_note=f"Teams: {reason}. Sent by e-mail instead."[:300],
    )
    _send_email(notification)


def _give_up_on_teams(notification: Notification, error: str) -> str | None:
    """Teams kept failing (attempts or throttling time used up): e-mail instead, as for a refusal."""
    try:
        _fall_back_to_email(notification, f"gave up after repeated failures, last: {error}")
    except UndeliverableError as reason:
        return _finish(notification, Status.DEAD, error=f"{error}; {reason}")
    except Exception as failure:  # SMTP trouble: the row is an e-mail now and retried as one
        logger.exception("Sending notification %s by e-mail instead failed", notification.pk)
        return _retry_later(notification, f"{type(failure).__name__}: {failure}", retry_after=None)
    return _finish(notification, Status.SENT)


# --- Outcomes -------------------------------------------------------------------------------------


def _record(notification: Notification, **fields) -> None:
    """Save fields on a row this worker holds (still "sending")."""
    Notification.objects.filter(pk=notification.pk, status=Status.SENDING).update(**fields)
    for name, value in fields.items():
        setattr(notification, name, value)


def _finish(notification: Notification, status: str, *, error: str = "") -> str | None:
    fields = {"status": status}
    if status == Status.SENT:
        fields["sent_at"] = timezone.now()
    if error:
        fields["last_error"] = error[:ERROR_MAX]
        logger.warning("Notification %s is dead: %s", notification.pk, error)
    updated = Notification.objects.filter(pk=notification.pk, status=Status.SENDING).update(**fields)
    return status if updated else None


def backoff_seconds(attempts: int) -> float:
    """Wait after the ``attempts``-th failed attempt: base, 2×base, 4×base, ... up to the cap."""
    base = settings.NOTIFICATION_BACKOFF_SECONDS
    return float(min(base * 2 ** max(attempts - 1, 0), settings.NOTIFICATION_BACKOFF_MAX_SECONDS))


def _retry_later(
    notification: Notification, error: str, *, retry_after: float | None, throttled: bool = False
) -> str | None:
    """Schedule the next attempt, or give up: after NOTIFICATION_MAX_ATTEMPTS failed attempts, or for
    throttling (429), which says nothing about this notification and so uses up no attempt, once the
    row is NOTIFICATION_THROTTLE_HOURS old. A Teams notification given up goes out by e-mail."""
    from teams_app.delivery_queue import deliver_notification  # the task module imports this one

    now = timezone.now()
    if throttled:
        given_up = now - notification.created_at >= timedelta(hours=settings.NOTIFICATION_THROTTLE_HOURS)
    else:
        given_up = notification.attempts >= settings.NOTIFICATION_MAX_ATTEMPTS
    if given_up:
        if notification.channel == Channel.TEAMS:
            return _give_up_on_teams(notification, error)
        return _finish(notification, Status.DEAD, error=error)
    delay = retry_after if retry_after is not None else backoff_seconds(notification.attempts)
    due = now + timedelta(seconds=delay)
    with transaction.atomic():
        updated = Notification.objects.filter(pk=notification.pk, status=Status.SENDING).update(
            status=Status.FAILED,
            next_attempt_at=due,
            last_error=error[:ERROR_MAX],
            attempts=F("attempts") - 1 if throttled else F("attempts"),
        )
        if updated:
            deliver_notification(notification.pk, schedule=due)
    logger.info("Notification %s failed (%s); next attempt at %s", notification.pk, error, due.isoformat())
    return Status.FAILED if updated else None
