"""The notification outbox and each person's choice of channel per kind of notification.

A ticket change writes its Notification rows (and one delivery task per row) in the same
transaction as the change itself; workers deliver them later (``teams_app.delivery``) and record
the outcome on the row. Nothing here talks to Microsoft.
"""

from datetime import timedelta

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from teams_app import activity_types

KIND_CHOICES = [
    (activity_types.TICKET_CREATED.type, _("New tickets")),
    (activity_types.TICKET_ASSIGNED.type, _("Tickets assigned to me")),
    (activity_types.TICKET_REPLY.type, _("Replies from IT to my tickets")),
    (activity_types.TICKET_COMMENT.type, _("Comments by the requester on tickets I work on")),
    (activity_types.TICKET_STATUS.type, _("Status changes of my tickets")),
    (activity_types.TICKET_SLA.type, _("Service level warnings (at 80 % and on breach)")),
]

# The bot's welcome card in a person's chat: a notification about no ticket, chosen by nobody.
WELCOME_KIND = "botWelcome"
NOTIFICATION_KIND_CHOICES = [*KIND_CHOICES, (WELCOME_KIND, _("Welcome card in the bot chat"))]

# A row left in "sending" this long is taken as abandoned: its worker stopped or lost the database
# before it could record the outcome. The worker sends such rows again (``release``), as does an
# operator's retry (``retryable``). One delivery takes well under a minute (fixed timeouts).
STALE_SENDING_AFTER = timedelta(minutes=10)


class NotificationQuerySet(models.QuerySet):
    def retryable(self, *, now=None):
        """Rows an operator may send again: dead ones, failed ones, and ones stuck in "sending"
        for longer than STALE_SENDING_AFTER (their worker died, maybe after sending)."""
        stale = (now or timezone.now()) - STALE_SENDING_AFTER
        return self.filter(
            Q(status__in=[Notification.Status.DEAD, Notification.Status.FAILED])
            | Q(status=Notification.Status.SENDING, claimed_at__lt=stale)
        )

    def stale_sending(self, *, now=None):
        return self.filter(
            status=Notification.Status.SENDING, claimed_at__lt=(now or timezone.now()) - STALE_SENDING_AFTER
        )

    def stuck(self, *, older_than: timedelta, now=None):
        """Rows due or being sent for longer than ``older_than``: nothing is working the outbox."""
        before = (now or timezone.now()) - older_than
        return self.filter(
            Q(status__in=[Notification.Status.PENDING, Notification.Status.FAILED], next_attempt_at__lt=before)
            | Q(status=Notification.Status.SENDING, claimed_at__lt=before)
        )

    def release(self, reason: str) -> list[int]:
        """Rows among these still "sending", whose worker stopped before recording the outcome, are
        due again at once with a new delivery task; returns their ids. The attempt that was cut off
        may have reached the recipient: delivery is at least once (see ``teams_app.delivery``)."""
        from teams_app.delivery_queue import deliver_notification

        with transaction.atomic():
            ids = list(self.filter(status=Notification.Status.SENDING).select_for_update().values_list("pk", flat=True))
            Notification.objects.filter(pk__in=ids, status=Notification.Status.SENDING).update(
                status=Notification.Status.FAILED, next_attempt_at=timezone.now(), last_error=reason[:500]
            )
            for pk in ids:
                deliver_notification(pk)
        return ids

    def requeue(self) -> int:
        """Send the retryable rows among these again, from attempt one; returns how many.

        A requeued "sending" row may reach its recipient twice: that is the operator's choice, the
        automatic path never resends such a row.
        """
        from teams_app.delivery_queue import deliver_notification

        now = timezone.now()
        with transaction.atomic():
            ids = list(self.retryable(now=now).select_for_update().values_list("pk", flat=True))
            Notification.objects.filter(pk__in=ids).update(
                status=Notification.Status.PENDING, attempts=0, next_attempt_at=now, claimed_at=None
            )
            for pk in ids:
                deliver_notification(pk)
        return len(ids)


class Notification(models.Model):
    """One message to one recipient over one channel; the outbox row and its delivery record."""

    class Channel(models.TextChoices):
        TEAMS = "teams", _("Teams")
        EMAIL = "email", _("E-mail")
        WEBHOOK = "webhook", _("Teams channel (webhook)")
        CHAT = "chat", _("Teams chat (bot)")

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        SENDING = "sending", _("sending")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed, will retry")
        DEAD = "dead", _("dead")

    # Empty for the channel webhook, which has no person as its recipient.
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
        verbose_name=_("recipient"),
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    kind = models.CharField(_("kind"), max_length=40, choices=NOTIFICATION_KIND_CHOICES)
    # Empty for the bot's messages that are about no ticket (the welcome card).
    ticket = models.ForeignKey(
        "tickets.Ticket",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
        verbose_name=_("ticket"),
    )
    event = models.ForeignKey(
        "tickets.TicketEvent",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("event"),
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    # What went wrong last; never a token or a webhook URL (MicrosoftError messages carry neither).
    last_error = models.TextField(_("last error"), blank=True)
    # Set when the Teams delivery was refused for good and e-mail was used instead (or could not be).
    fallback_note = models.CharField(_("fallback"), max_length=300, blank=True)
    # "<event id>:<recipient id or ->:<channel>": one message per event, person and channel.
    dedupe_key = models.CharField(_("deduplication key"), max_length=100, unique=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications (outbox)")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="notification_status_due"),
            models.Index(fields=["-created_at", "-id"], name="notification_created"),
        ]

    def __str__(self) -> str:
        about = f" (#{self.ticket_id})" if self.ticket_id else ""
        return f"{self.get_kind_display()} → {self.recipient or self.get_channel_display()}{about}"

    @staticmethod
    def make_dedupe_key(event_id: int, recipient_id: int | None, channel: str) -> str:
        return f"{event_id}:{recipient_id if recipient_id is not None else '-'}:{channel}"


class NotificationPreference(models.Model):
    """How one person wants to hear of one kind of notification.

    Without a row the default applies: Teams for people who sign in with Microsoft, e-mail for
    everyone else (see ``teams_app.notifications.default_choice``).
    """

    class Choice(models.TextChoices):
        TEAMS = "teams", _("Teams")
        EMAIL = "email", _("E-mail")
        BOTH = "both", _("Both")
        NONE = "none", _("None")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    kind = models.CharField(_("kind"), max_length=40, choices=KIND_CHOICES)
    channel = models.CharField(_("channel"), max_length=8, choices=Choice.choices)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="notification_preference_unique")]

    def __str__(self) -> str:
        return f"{self.user}: {self.kind} → {self.channel}"


class BotConversation(models.Model):
    """Where the bot reaches one person: their personal chat with the app (a conversation reference).

    Written when the app is installed for them and refreshed by every message they send the bot;
    the chat notifications are posted there.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bot_conversation", verbose_name=_("person")
    )
    conversation_id = models.CharField(_("conversation id"), max_length=500)
    service_url = models.URLField(_("service URL"), max_length=500)
    tenant_id = models.CharField(_("tenant"), max_length=64)
    # The person's id in the chat ("29:..."), the bot's own ("28:..."): the addresses of a message.
    user_chat_id = models.CharField(_("chat id of the person"), max_length=500)
    bot_chat_id = models.CharField(_("chat id of the bot"), max_length=500)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("bot conversation")
        verbose_name_plural = _("bot conversations")

    def __str__(self) -> str:
        return f"{self.user} ↔ {self.conversation_id[:40]}"


class BotActivityReceipt(models.Model):
    """An activity the bot has acted on, by its id: Teams delivers again when an answer is slow, and
    the same card action twice must change a ticket only once."""

    activity_id = models.CharField(_("activity id"), max_length=200, unique=True)
    created_at = models.DateTimeField(_("received"), default=timezone.now)

    class Meta:
        verbose_name = _("bot activity receipt")
        verbose_name_plural = _("bot activity receipts")

    def __str__(self) -> str:
        return self.activity_id
