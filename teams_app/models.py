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
# The IT channel's card of a ticket brought up to date after a change (channel "itchannel").
CHANNEL_UPDATE_KIND = "ticketChanged"
# The card of a ticket just filed in a Teams dialog, in its author's chat with the app.
FILED_KIND = "ticketFiled"
NOTIFICATION_KIND_CHOICES = [
    *KIND_CHOICES,
    (WELCOME_KIND, _("Welcome card in the bot chat")),
    (CHANNEL_UPDATE_KIND, _("Ticket card in the IT channel updated")),
    (FILED_KIND, _("Ticket card after filing in Teams")),
]

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
        IT_CHANNEL = "itchannel", _("IT channel (bot)")

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
    """How one person wants to hear of one kind of notification: any combination of the chat with the
    app ("chat"), the Teams activity feed ("feed") and e-mail, or none ("none").

    Stored as the ways joined by "+" in a fixed order ("chat+feed", "email", "none", ...). Without a
    row the default applies: chat and feed for people who sign in with Microsoft, e-mail for everyone
    else (see ``teams_app.notifications.default_ways``).
    """

    CHAT = "chat"
    FEED = "feed"
    EMAIL = "email"
    NONE = "none"
    WAYS = (CHAT, FEED, EMAIL)  # the order of the stored value
    # The spelling before the ways could be combined (migration 0003): Teams meant the feed and, where
    # the app's chat was known, a card there.
    LEGACY = {"teams": (CHAT, FEED), "both": (CHAT, FEED, EMAIL)}

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    kind = models.CharField(_("kind"), max_length=40, choices=KIND_CHOICES)
    channel = models.CharField(_("ways"), max_length=20)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="notification_preference_unique")]

    def __str__(self) -> str:
        return f"{self.user}: {self.kind} → {self.channel}"

    @classmethod
    def join(cls, ways) -> str:
        """The stored value for a collection of ways (unknown ones are dropped)."""
        chosen = [way for way in cls.WAYS if way in set(ways)]
        return "+".join(chosen) or cls.NONE

    @classmethod
    def split(cls, value: str) -> set[str]:
        """The ways a stored value names."""
        if value in cls.LEGACY:
            return set(cls.LEGACY[value])
        return {way for way in (value or "").split("+") if way in cls.WAYS}


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


class BotChannel(models.Model):
    """A channel of a Teams team that the bot was added to: a place where it can post cards.

    Recorded from the bot's own activities (team install, channel created or renamed, a message in the
    channel); the admin picks one as the IT channel, where every new ticket is posted. An IT team may
    name one of these for its own tickets' cards (``tickets.Team.channel``).
    """

    # The conversation id of the channel ("19:...@thread.tacv2"); the General channel's is the team's.
    channel_id = models.CharField(_("channel id"), max_length=200, unique=True)
    channel_name = models.CharField(_("channel"), max_length=200, blank=True)
    team_id = models.CharField(_("team id"), max_length=200)
    team_name = models.CharField(_("team"), max_length=200, blank=True)
    service_url = models.URLField(_("service URL"), max_length=500)
    tenant_id = models.CharField(_("tenant"), max_length=64)
    bot_chat_id = models.CharField(_("chat id of the bot"), max_length=500, blank=True)
    # False once the bot was removed from the team or the channel was deleted.
    is_available = models.BooleanField(_("bot present"), default=True)
    is_it_channel = models.BooleanField(_("IT channel"), default=False)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("Teams channel of the bot")
        verbose_name_plural = _("Teams channels of the bot")
        ordering = ["team_name", "channel_name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_it_channel"], condition=Q(is_it_channel=True), name="bot_channel_one_it_channel"
            )
        ]

    def __str__(self) -> str:
        return f"{self.team_name or self.team_id[:30]} › {self.display_channel_name}"

    @property
    def display_channel_name(self) -> str:
        return self.channel_name or ("General" if self.channel_id == self.team_id else self.channel_id[:30])


class BotCard(models.Model):
    """A ticket card the bot posted, by its activity id: a channel card is updated in place when the
    ticket changes, and a reply in the thread of any of them becomes a comment on its ticket."""

    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="bot_cards", verbose_name=_("ticket")
    )
    # Either a channel (the IT channel's card) or a person (a card in their chat with the app).
    channel = models.ForeignKey(
        BotChannel, on_delete=models.CASCADE, null=True, blank=True, related_name="cards", verbose_name=_("channel")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    conversation_id = models.CharField(_("conversation id"), max_length=500)
    service_url = models.URLField(_("service URL"), max_length=500)
    activity_id = models.CharField(_("activity id"), max_length=200)
    posted_at = models.DateTimeField(_("posted"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), null=True, blank=True)

    class Meta:
        verbose_name = _("posted ticket card")
        verbose_name_plural = _("posted ticket cards")
        constraints = [
            models.UniqueConstraint(fields=["conversation_id", "activity_id"], name="bot_card_activity_unique"),
            models.UniqueConstraint(
                fields=["ticket", "channel"], condition=Q(channel__isnull=False), name="bot_card_one_per_channel"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.ticket_id} → {self.activity_id[:30]}"


class TeamsMessageLink(models.Model):
    """The Teams message a ticket was made from ("Create ticket" message action): its cards link back."""

    ticket = models.OneToOneField(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="teams_message_link", verbose_name=_("ticket")
    )
    # Only ever a https://teams.microsoft.com/ link (checked where it is written).
    url = models.URLField(_("Teams message"), max_length=1000)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("Teams message of a ticket")
        verbose_name_plural = _("Teams messages of tickets")

    def __str__(self) -> str:
        return f"#{self.ticket_id} ← {self.url[:60]}"
