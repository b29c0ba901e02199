import os
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Case, Exists, OuterRef, Q, When
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from mptt.models import MPTTModel, TreeForeignKey
from mptt.querysets import TreeQuerySet


class ProblemSourceQuerySet(TreeQuerySet):
    def active(self):
        return self.filter(is_active=True)

    def with_active_children(self):
        """Annotate ``has_active_children`` with one subquery instead of a query per node."""
        children = ProblemSource.objects.filter(parent=OuterRef("pk"), is_active=True)
        return self.annotate(has_active_children=Exists(children))

    def with_inactive_ancestor(self):
        """Annotate ``has_inactive_ancestor`` (retired nodes hide their subtrees) in the same query."""
        retired_above = ProblemSource.objects.filter(
            tree_id=OuterRef("tree_id"), lft__lt=OuterRef("lft"), rght__gt=OuterRef("rght"), is_active=False
        )
        return self.annotate(has_inactive_ancestor=Exists(retired_above))


class AssignmentRule(models.TextChoices):
    """How a new ticket gets a responsible team member (tickets.routing)."""

    NONE = "none", _("None: the ticket waits in the team queue")
    ROUND_ROBIN = "round_robin", _("Round robin")
    FEWEST_OPEN = "fewest_open", _("Fewest open tickets")


class ProblemSource(MPTTModel):
    """A node of the tree employees drill down to say what their problem is about.

    Tree writes must go through ``tickets.problem_sources`` (or the admin, which uses it) so that
    they run under the tree write lock.
    """

    parent = TreeForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("parent"),
    )
    name_en = models.CharField(_("name (English)"), max_length=100)
    name_de = models.CharField(_("name (German)"), max_length=100, blank=True)
    help_text_en = models.CharField(_("help text (English)"), max_length=300, blank=True)
    help_text_de = models.CharField(_("help text (German)"), max_length=300, blank=True)
    icon = models.CharField(
        _("icon"),
        max_length=40,
        blank=True,
        validators=[RegexValidator(r"^[a-z0-9-]+$", _("Use a Bootstrap Icons name such as 'printer'."))],
        help_text=_("A Bootstrap Icons name, for example 'printer' or 'wifi'."),
    )
    is_active = models.BooleanField(
        _("active"), default=True, help_text=_("Inactive nodes and their subtrees are hidden from the picker.")
    )
    is_selectable = models.BooleanField(
        _("selectable"),
        default=False,
        help_text=_("Lets employees file a ticket here although the node has children (for 'Other / not sure')."),
    )

    # Routing (tickets.routing): empty means "as the parent node says"; children inherit both.
    team = models.ForeignKey(
        "Team",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="problem_sources",
        verbose_name=_("IT team"),
        help_text=_("Owns the tickets filed here and below. Empty: the team of the parent node."),
    )
    assignment_rule = models.CharField(
        _("assignment rule"),
        max_length=16,
        blank=True,
        choices=[("", _("As the parent node")), *AssignmentRule.choices],
        help_text=_("How new tickets here and below get a responsible team member."),
    )
    sla_policy = models.ForeignKey(
        "tickets.SlaPolicy",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("SLA policy"),
        help_text=_("Empty: the policy of the nearest node above that has one."),
    )
    # The policy in force here (own or inherited), kept by problem_sources.refresh_effective_sla_policies
    # after every tree write, so filing a ticket needs no walk up the tree.
    effective_sla_policy = models.ForeignKey(
        "tickets.SlaPolicy", on_delete=models.SET_NULL, null=True, blank=True, editable=False, related_name="+"
    )

    objects = ProblemSourceQuerySet.as_manager()

    class Meta:
        verbose_name = _("problem source")
        verbose_name_plural = _("problem sources")

    def __str__(self) -> str:
        return self.name

    @staticmethod
    def localised(english: str, german: str, *, german_reader: bool | None = None) -> str:
        """The German text for German readers and the English one for everyone else, each falling
        back to the other when empty. ``german_reader``: given when a page knows it already."""
        if german_reader is None:
            german_reader = (get_language() or "en").startswith("de")
        return (german or english) if german_reader else (english or german)

    @property
    def name(self) -> str:
        return self.localised(self.name_en, self.name_de)

    @property
    def help_text(self) -> str:
        return self.localised(self.help_text_en, self.help_text_de)

    def subtree_filter(self, prefix: str = "") -> Q:
        """A Q object matching this node and its descendants by the MPTT range, for any relation."""
        return Q(
            **{
                f"{prefix}tree_id": self.tree_id,
                f"{prefix}lft__gte": self.lft,
                f"{prefix}rght__lte": self.rght,
            }
        )


class TicketQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The one rule of who sees which ticket: agents see all, everyone else their own."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_agent:
            return self
        # Their own tickets, and those they are affected by (a known issue's public timeline; see
        # tickets.known_issues). One OR of two index conditions, so PostgreSQL stays on its indexes.
        return self.filter(Q(requester=user) | Q(AffectedTicket(user.pk)))

    def open(self):
        return self.filter(status__in=Ticket.Status.open_values())

    def overdue(self, today=None):
        return self.open().filter(due_date__lt=today or timezone.localdate())

    def with_status_rank(self):
        """``status_rank`` follows the workflow order, for sorting by status."""
        whens = [When(status=value, then=rank) for rank, value in enumerate(Ticket.Status.values)]
        return self.annotate(status_rank=Case(*whens, default=len(whens), output_field=models.IntegerField()))

    def in_subtree(self, node: ProblemSource):
        return self.filter(node.subtree_filter("problem_source__"))

    def search(self, text: str, *, user):
        """Full-text search on PostgreSQL, substring match elsewhere; internal notes for agents only.

        For IT staff, PostgreSQL searches ``tickets_ticket.search_document``: a column that triggers
        keep (migration 0007) and that is deliberately no model field.
        """
        from tickets.search import search_tickets

        return search_tickets(self, text, include_internal=getattr(user, "is_agent", False))


class Ticket(models.Model):
    class Status(models.TextChoices):
        NEW = "new", _("New")
        IN_PROGRESS = "in_progress", _("In progress")
        WAITING = "waiting", _("Waiting for requester")
        RESOLVED = "resolved", _("Resolved")
        CLOSED = "closed", _("Closed")

        @classmethod
        def open_values(cls) -> list[str]:
            return [cls.NEW, cls.IN_PROGRESS, cls.WAITING]

    class Priority(models.IntegerChoices):
        LOW = 1, _("Low")
        NORMAL = 2, _("Normal")
        HIGH = 3, _("High")

    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), max_length=20000)
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="requested_tickets",
        verbose_name=_("requester"),
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_tickets",
        verbose_name=_("responsible"),
    )
    problem_source = models.ForeignKey(
        ProblemSource, on_delete=models.PROTECT, related_name="tickets", verbose_name=_("problem source")
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.NEW)
    priority = models.PositiveSmallIntegerField(_("priority"), choices=Priority.choices, default=Priority.NORMAL)
    due_date = models.DateField(_("due date"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    # The first agent response (see tickets/analysis.py), kept here by services.ticket_comment so
    # that the analysis reads a column instead of joining comments and group memberships.
    first_response_at = models.DateTimeField(_("first response"), null=True, blank=True, editable=False)
    # How often the ticket went from resolved or closed back to an open status, i.e. how many such
    # status events it has; kept by the services with the event, so the analysis reads a column.
    reopened_count = models.PositiveIntegerField(_("times reopened"), default=0, editable=False)
    # Filed from an e-mail to the help-desk mailbox (tickets.mail_intake): shown as "via e-mail".
    via_email = models.BooleanField(_("via e-mail"), default=False, editable=False)
    # The IT team whose queue holds the ticket: set when it is filed (tickets.routing), changed by agents.
    team = models.ForeignKey(
        "Team",
        on_delete=models.SET_NULL,  # tickets.routing.team_delete re-routes them first, with events
        null=True,
        blank=True,
        related_name="tickets",
        verbose_name=_("IT team"),
    )
    # Service level (tickets.sla keeps these with every change, in the change's transaction). The
    # clock: due = created_at + target + sla_paused_seconds, in business time of the policy's calendar.
    sla_policy = models.ForeignKey(
        "tickets.SlaPolicy", on_delete=models.SET_NULL, null=True, blank=True, editable=False, related_name="+"
    )
    first_response_due_at = models.DateTimeField(_("first response due"), null=True, blank=True, editable=False)
    resolution_due_at = models.DateTimeField(_("resolution due"), null=True, blank=True, editable=False)
    # The next target still to meet, and when 80 % of it is used; NULL while the clock stands still.
    sla_due_at = models.DateTimeField(_("due next"), null=True, blank=True, editable=False)
    sla_warning_at = models.DateTimeField(null=True, blank=True, editable=False)
    sla_paused_at = models.DateTimeField(_("clock stopped"), null=True, blank=True, editable=False)
    sla_paused_seconds = models.PositiveIntegerField(default=0, editable=False)  # business seconds stopped
    # Business seconds left of the resolution target when the ticket was resolved (< 0: late).
    sla_resolution_left_seconds = models.IntegerField(null=True, blank=True, editable=False)

    objects = TicketQuerySet.as_manager()

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="ticket_status_created"),
            models.Index(fields=["assignee", "status"], name="ticket_assignee_status"),
            models.Index(fields=["requester", "-created_at"], name="ticket_requester_created"),
            models.Index(fields=["problem_source", "status"], name="ticket_source_status"),
            models.Index(fields=["priority", "-created_at"], name="ticket_priority_created"),
            models.Index(fields=["-updated_at"], name="ticket_updated"),
            models.Index(fields=["due_date"], name="ticket_due", condition=Q(due_date__isnull=False)),
            # Date ranges of the analysis page (and the list's default order) without a status.
            models.Index(fields=["created_at"], name="ticket_created"),
            models.Index(fields=["resolved_at"], name="ticket_resolved", condition=Q(resolved_at__isnull=False)),
            models.Index(fields=["closed_at"], name="ticket_closed", condition=Q(closed_at__isnull=False)),
            # When a ticket was finished as the analysis defines it (analysis.finished_at()): its
            # period filters are an index range.
            models.Index(Coalesce("resolved_at", "closed_at"), name="ticket_finished"),
            # Everything the analysis counts, per problem source (PostgreSQL): over a long period it
            # reads the tickets source by source in tree order from this index alone, without
            # touching the table or sorting them by child (about 40 ms of 140 at 100,000 tickets).
            models.Index(
                fields=["problem_source"],
                include=[
                    "created_at",
                    "resolved_at",
                    "closed_at",
                    "first_response_at",
                    "status",
                    "assignee",
                    "reopened_count",
                    "id",
                ],
                name="ticket_source_analysis",
            ),
            # The list's default order with its tie-breaker: deep pages skip rows in this index alone.
            models.Index(fields=["-created_at", "-id"], name="ticket_created_id"),
            # An agent's tickets in a problem-source subtree: the list's status counts and its page of
            # ids for "responsible + subtree" are read from this index alone, node by node.
            models.Index(
                fields=["assignee", "problem_source"],
                include=["status", "created_at", "id"],
                name="ticket_assignee_source",
            ),
            # The running service-level clocks: "due next", "breached", "due within 2 hours", the warning jobs.
            models.Index(fields=["sla_due_at", "id"], name="ticket_sla_due", condition=Q(sla_due_at__isnull=False)),
            models.Index(
                fields=["assignee", "sla_due_at"], name="ticket_sla_assignee", condition=Q(sla_due_at__isnull=False)
            ),
            models.Index(fields=["sla_warning_at"], name="ticket_sla_warning", condition=Q(sla_due_at__isnull=False)),
            # Only the few open tickets: the dashboard counters and queues read this, never the whole table.
            models.Index(
                fields=["assignee", "due_date"],
                name="ticket_open_assignee_due",
                condition=Q(status__in=["new", "in_progress", "waiting"]),
            ),
            # "My teams" queue counts in the sidebar: the open tickets of a team, from the index alone.
            models.Index(
                fields=["team", "assignee"],
                name="ticket_open_team",
                condition=Q(status__in=["new", "in_progress", "waiting"]),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("tickets:detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status in Ticket.Status.open_values()

    @property
    def is_overdue(self) -> bool:
        return self.is_open and self.due_date is not None and self.due_date < timezone.localdate()

    @property
    def finished_at(self):
        return self.closed_at if self.status == Ticket.Status.CLOSED else self.resolved_at

    def can_be_reopened_by(self, user) -> bool:
        if self.is_open:
            return False
        if user.is_agent:
            return True
        if user.pk != self.requester_id or self.finished_at is None:
            return False
        return timezone.now() - self.finished_at <= timedelta(days=settings.TICKET_REOPEN_DAYS)

    def may_be_written_on_by(self, user) -> bool:
        """The requester and IT staff write on a ticket; people affected by it only read it."""
        return user.is_agent or user.pk == self.requester_id

    def can_be_closed_by(self, user) -> bool:
        return self.status != Ticket.Status.CLOSED and (user.pk == self.requester_id or user.is_agent)


class TicketStatusCount(models.Model):
    """How many tickets have each status: the ticket list's status tabs for IT staff, read in one
    tiny query instead of counting every ticket per request.

    Kept by database triggers on ``tickets_ticket`` (migration 0006), so every write path counts:
    the workflows, the admin, bulk inserts of the data generator, cascading deletes. A status without
    a row has no tickets. ``tickets.tests.test_status_counts`` checks that they agree with a count.
    """

    status = models.CharField(_("status"), max_length=20, primary_key=True)
    count = models.BigIntegerField(_("tickets"), default=0)

    class Meta:
        verbose_name = _("ticket count by status")
        verbose_name_plural = _("ticket counts by status")

    def __str__(self) -> str:
        return f"{self.status}: {self.count}"

    @classmethod
    def counts(cls) -> dict[str, int]:
        return dict(cls.objects.values_list("status", "count"))


class TicketContentQuerySet(models.QuerySet):
    """For models that belong to a ticket and carry ``is_internal``: comments, attachments, events."""

    def visible_to(self, user):
        """Rows of tickets the user may see; internal ones (notes and what hangs on them) for agents only."""
        if user.is_authenticated and user.is_active and user.is_agent:
            return self.all()  # agents see every ticket: no semi-join with all 100,000 of them
        return self.filter(ticket__in=Ticket.objects.visible_to(user), is_internal=False)


class Comment(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="comments")
    # Empty for what the system wrote (e.g. why a ticket waiting for its requester was resolved).
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    body = models.TextField(_("comment"), max_length=20000)
    is_internal = models.BooleanField(_("internal note"), default=False)
    created_at = models.DateTimeField(default=timezone.now)

    objects = TicketContentQuerySet.as_manager()

    class Meta:
        verbose_name = _("comment")
        verbose_name_plural = _("comments")
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.author or _('The system')} on #{self.ticket_id}"


def attachment_path(instance, filename: str) -> str:
    """A random stored name without the uploader's extension: nothing about it is guessable."""
    now = timezone.now()
    return f"{now:%Y/%m}/{secrets.token_hex(16)}"


class AttachmentStorage(FileSystemStorage):
    """Files under ATTACHMENT_ROOT, read at use time (not import time) so tests can move it."""

    def __init__(self):
        super().__init__(base_url=None)

    @property
    def base_location(self):
        return str(settings.ATTACHMENT_ROOT)

    @property
    def location(self):
        return os.path.abspath(self.base_location)


attachment_storage = AttachmentStorage()


class Attachment(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, null=True, blank=True, related_name="attachments")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    file = models.FileField(upload_to=attachment_path, storage=attachment_storage, max_length=200)
    original_name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    is_internal = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    objects = TicketContentQuerySet.as_manager()

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.original_name

    def get_absolute_url(self) -> str:
        return reverse("tickets:attachment", args=[self.ticket_id, self.pk])

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


class TicketEventQuerySet(TicketContentQuerySet):
    def for_timeline(self):
        return self.select_related("actor", "comment", "attachment").order_by("created_at", "pk")


class TicketEvent(models.Model):
    """One line of a ticket's history, written in the same transaction as the change it records."""

    class Kind(models.TextChoices):
        CREATED = "created", pgettext_lazy("ticket event", "created")
        STATUS = "status", _("status changed")
        ASSIGNMENT = "assignment", _("assignment changed")
        PRIORITY = "priority", _("priority changed")
        PROBLEM_SOURCE = "problem_source", _("problem source changed")
        DUE_DATE = "due_date", _("due date changed")
        COMMENT = "comment", _("public reply")
        INTERNAL_NOTE = "internal_note", _("internal note")
        ATTACHMENT = "attachment", _("attachment added")
        SELF_HELP = "self_help", _("self-help read first")
        RATING = "rating", _("rated")
        TEAM = "team", _("IT team changed")
        SLA_WARNING = "sla_warning", _("service level at risk")
        SLA_BREACH = "sla_breach", _("service level breached")
        # Known issues, affected people, duplicates and merges (tickets.known_issues).
        KNOWN_ISSUE = "known_issue", _("known-issue status")
        AFFECTED = "affected", _("affected people changed")
        DUPLICATE = "duplicate", _("closed as a duplicate")
        MERGED = "merged", _("ticket merged in")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # Machine values (status codes, ids, ISO dates) so the display follows the reader's language.
    old_value = models.CharField(max_length=255, blank=True)
    new_value = models.CharField(max_length=255, blank=True)
    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    attachment = models.ForeignKey(Attachment, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    is_internal = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    objects = TicketEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("ticket event")
        verbose_name_plural = _("ticket events")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["ticket", "created_at"], name="event_ticket_created"),
            models.Index(fields=["-created_at", "-id"], name="event_created"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on #{self.ticket_id}"

    @cached_property
    def is_comment(self) -> bool:
        return self.kind in (self.Kind.COMMENT, self.Kind.INTERNAL_NOTE)

    @property
    def actor_name(self) -> str:
        """Who did it, as ``tickets.timeline.sentence`` names them ("" for the system)."""
        return self.actor.display_name if self.actor_id else ""


class SavedTicketFilterQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Agents see their own saved lists and those shared with IT staff; nobody else sees any."""
        if not user.is_authenticated or not user.is_agent:
            return self.none()
        return self.filter(Q(owner=user) | Q(is_shared=True))


class SavedTicketFilter(models.Model):
    """A named ticket list: the list's filters as a normalised query string (see TicketFilterForm)."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_ticket_filters", verbose_name=_("owner")
    )
    name = models.CharField(_("name"), max_length=80)
    query = models.CharField(_("filters"), max_length=2000, blank=True)
    is_shared = models.BooleanField(_("shared with IT staff"), default=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    objects = SavedTicketFilterQuerySet.as_manager()

    class Meta:
        verbose_name = _("saved ticket list")
        verbose_name_plural = _("saved ticket lists")
        ordering = ["name", "pk"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="saved_filter_owner_name")]
        indexes = [models.Index(fields=["name"], name="saved_filter_shared", condition=Q(is_shared=True))]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        url = reverse("tickets:list")
        return f"{url}?{self.query}" if self.query else url


class JobRecord(models.Model):
    """Something a scheduled job did once (a reminder, a digest), so that running it again does not.

    ``key`` names the deed, e.g. "overdue:42:2026-03-02" (job, ticket, local day); a second attempt
    at the same deed fails on the unique key inside the job's transaction and sends nothing.
    """

    key = models.CharField(_("key"), max_length=150, unique=True)
    job = models.CharField(_("job"), max_length=40)
    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("ticket")
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("job record")
        verbose_name_plural = _("job records")
        indexes = [models.Index(fields=["created_at"], name="jobrecord_created")]

    def __str__(self) -> str:
        return self.key


class MailboxConnection(models.Model):
    """The help-desk mailbox the mail intake reads (tickets.mail_intake): where its delta query goes on,
    and how its last run went (shown on /teams/setup/)."""

    mailbox = models.CharField(_("mailbox"), max_length=254, unique=True)
    delta_link = models.TextField(_("delta link"), blank=True, editable=False)
    processed_folder_id = models.CharField(max_length=300, blank=True, editable=False)
    last_run_at = models.DateTimeField(_("last run"), null=True, blank=True)
    last_success_at = models.DateTimeField(_("last successful run"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("mailbox connection")
        verbose_name_plural = _("mailbox connections")

    def __str__(self) -> str:
        return self.mailbox


class InboundMail(models.Model):
    """One message read from the help-desk mailbox, processed exactly once (unique per mailbox and
    Graph's immutable message id). A message whose processing failed ``MAIL_INTAKE_MAX_ATTEMPTS`` times
    is given up ("poison") and stays in the inbox; its error is shown in the admin."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        TICKET = "ticket", _("ticket filed")
        COMMENT = "comment", _("comment added")
        REFUSED = "refused", _("refused with a reply")
        IGNORED = "ignored", _("ignored (automatic message)")
        POISON = "poison", _("given up")

    mailbox = models.CharField(_("mailbox"), max_length=254)
    graph_id = models.CharField(_("Graph message id"), max_length=300)
    internet_message_id = models.CharField(_("Message-ID"), max_length=500, blank=True, db_index=True)
    sender = models.CharField(_("sender"), max_length=254, blank=True)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    outcome = models.TextField(_("outcome"), blank=True)
    ticket = models.ForeignKey(
        Ticket, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("ticket")
    )
    moved = models.BooleanField(_("moved to the processed folder"), default=False)
    created_at = models.DateTimeField(_("read"), default=timezone.now)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)

    class Meta:
        verbose_name = _("incoming e-mail")
        verbose_name_plural = _("incoming e-mails")
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["mailbox", "graph_id"], name="inboundmail_unique_message")]
        indexes = [models.Index(fields=["status", "id"], name="inboundmail_status")]

    def __str__(self) -> str:
        return self.subject or self.graph_id


# --- Self-help and ratings (tickets.self_help, tickets.ratings) ------------------------------------


class SelfHelpArticle(models.Model):
    """A short help text IT wrote for one problem source, shown in the picker before the form."""

    problem_source = models.OneToOneField(
        ProblemSource, on_delete=models.CASCADE, related_name="self_help", verbose_name=_("problem source")
    )
    title_en = models.CharField(_("title (English)"), max_length=150)
    title_de = models.CharField(_("title (German)"), max_length=150, blank=True)
    body_en = models.TextField(_("text (English)"), max_length=10000)
    body_de = models.TextField(_("text (German)"), max_length=10000, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("self-help article")
        verbose_name_plural = _("self-help articles")

    def __str__(self) -> str:
        return self.title

    @property
    def title(self) -> str:
        return ProblemSource.localised(self.title_en, self.title_de)

    @property
    def body(self) -> str:
        return ProblemSource.localised(self.body_en, self.body_de)


class SelfHelpImage(models.Model):
    """A picture of a self-help article, shown inline under its text; every signed-in person may see it."""

    article = models.ForeignKey(SelfHelpArticle, on_delete=models.CASCADE, related_name="images")
    file = models.FileField(upload_to=attachment_path, storage=attachment_storage, max_length=200)
    original_name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("self-help image")
        verbose_name_plural = _("self-help images")
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.original_name

    def get_absolute_url(self) -> str:
        return reverse("tickets:self_help_image", args=[self.pk])


class SelfHelpDeflection(models.Model):
    """How often "That solved it" was pressed on one problem source's article on one day."""

    problem_source = models.ForeignKey(ProblemSource, on_delete=models.CASCADE, related_name="+")
    day = models.DateField(_("day"))
    count = models.PositiveIntegerField(_("solved without a ticket"), default=0)

    class Meta:
        verbose_name = _("self-help deflection")
        verbose_name_plural = _("self-help deflections")
        constraints = [models.UniqueConstraint(fields=["problem_source", "day"], name="deflection_source_day")]
        indexes = [models.Index(fields=["day"], name="deflection_day")]

    def __str__(self) -> str:
        return f"{self.problem_source_id} {self.day}: {self.count}"


class TicketRating(models.Model):
    """The requester's answer to "Did this solve your problem?" for one resolution of a ticket.

    ``round`` is the ticket's ``reopened_count`` when it was rated: one rating per resolution, so a
    ticket reopened and resolved again is asked again, and a rating link can be used once.
    """

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="ratings")
    round = models.PositiveIntegerField(default=0)
    rater = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    is_positive = models.BooleanField(_("solved"))
    comment = models.TextField(_("comment"), max_length=2000, blank=True)
    # Who was responsible and where the ticket was filed at the time, for the analysis.
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    problem_source = models.ForeignKey(ProblemSource, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("rated"), default=timezone.now)

    class Meta:
        verbose_name = _("ticket rating")
        verbose_name_plural = _("ticket ratings")
        constraints = [models.UniqueConstraint(fields=["ticket", "round"], name="rating_once_per_resolution")]
        indexes = [models.Index(fields=["created_at"], name="rating_created")]

    def __str__(self) -> str:
        return f"#{self.ticket_id}: {'+' if self.is_positive else '-'}"


class Team(models.Model):
    """An IT team: it owns problem sources (inherited down the tree) and works their tickets.

    The row is also the team's round-robin cursor: ``tickets.routing`` locks it (select_for_update)
    while it picks the next member, so tickets filed at the same moment go to different people.
    """

    name = models.CharField(_("name"), max_length=100, unique=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="it_teams",
        verbose_name=_("members"),
        help_text=_("IT staff who work this team's tickets."),
    )
    is_active = models.BooleanField(
        _("active"),
        default=True,
        help_text=_("Inactive teams get no new tickets; their tickets go to the team of the tree's root."),
    )
    last_assigned = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("last assigned by round robin"),
    )
    # Where the cards of the team's new tickets are posted (teams_app.channels.channel_for_ticket).
    channel = models.ForeignKey(
        "teams_app.BotChannel",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="it_teams",
        verbose_name=_("Teams channel"),
        help_text=_(
            "New tickets of this team are posted here as cards (the bot must be in that team). "
            "Empty: the IT channel chosen on the Teams app page."
        ),
    )

    class Meta:
        verbose_name = _("IT team")
        verbose_name_plural = _("IT teams")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


# --- Known issues, affected people, merges (workflows: tickets.known_issues) -----------------------


class AffectedTicket(models.Expression):
    """True for tickets the person ``user_id`` is affected by: ``Q(AffectedTicket(pk))`` in a filter.

    On PostgreSQL ``id = ANY(ARRAY(SELECT ticket_id ...))``: the array is computed once (an InitPlan),
    so ``requester_id = 7 OR id = ANY(...)`` is a BitmapOr of two index scans. A plain ``id IN
    (SELECT ...)`` under an OR becomes a filter checked on every row of the table. SQLite gets the IN.
    """

    output_field = models.BooleanField()
    conditional = True

    def __init__(self, user_id: int, alias: str | None = None):
        super().__init__()
        self.user_id, self.alias = user_id, alias

    def resolve_expression(self, query=None, allow_joins=True, reuse=None, summarize=False, for_save=False):
        resolved = self.copy()
        resolved.alias = query.get_initial_alias()
        return resolved

    def relabeled_clone(self, change_map):
        return self.__class__(self.user_id, change_map.get(self.alias, self.alias))

    def _parts(self, compiler, connection):
        quote = connection.ops.quote_name
        column = f"{compiler.quote_name_unless_alias(self.alias)}.{quote('id')}"
        table = quote(AffectedPerson._meta.db_table)
        # Only quoted names are put in; the person's id is a parameter.
        subquery = f"SELECT {quote('ticket_id')} FROM {table} WHERE {quote('user_id')} = %s"  # noqa: S608
        return column, subquery

    def as_sql(self, compiler, connection):
        column, subquery = self._parts(compiler, connection)
        return f"{column} IN ({subquery})", [self.user_id]

    def as_postgresql(self, compiler, connection):
        column, subquery = self._parts(compiler, connection)
        return f"{column} = ANY(ARRAY({subquery}))", [self.user_id]


class AffectedPerson(models.Model):
    """Someone hit by the problem of a ticket they did not file: they see its public timeline only and
    hear when its known-issue status changes or it is resolved."""

    class How(models.TextChoices):
        ME_TOO = "me_too", _("Affects me too")
        DUPLICATE = "duplicate", _("filed a duplicate")
        MERGE = "merge", _("merged ticket")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="affected", verbose_name=_("ticket"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="affected_by", verbose_name=_("person")
    )
    how = models.CharField(_("how"), max_length=12, choices=How.choices, default=How.ME_TOO)
    added_at = models.DateTimeField(_("added"), default=timezone.now)

    class Meta:
        verbose_name = _("affected person")
        verbose_name_plural = _("affected people")
        ordering = ["added_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["ticket", "user"], name="affected_ticket_user")]
        # visible_to reads a person's tickets from this index alone.
        indexes = [models.Index(fields=["user", "ticket"], name="affected_user_ticket")]

    def __str__(self) -> str:
        return f"{self.user} on #{self.ticket_id}"


class KnownIssueQuerySet(models.QuerySet):
    def current(self):
        """Known issues whose ticket is still open: the ones the banners show."""
        return self.filter(ticket__status__in=Ticket.Status.open_values())

    def covering(self, node: ProblemSource | None):
        """Those for ``node``, one of its ancestors (a known issue covers its node's subtree), or for
        every node when ``node`` is None."""
        if node is None:
            return self
        return self.filter(
            problem_source__tree_id=node.tree_id, problem_source__lft__lte=node.lft, problem_source__rght__gte=node.rght
        )

    def for_banner(self):
        """With the node and the number of affected people, newest first."""
        return (
            self.select_related("problem_source")
            .annotate(affected_count=models.Count("ticket__affected"))
            .order_by("-updated_at", "-pk")
        )


class KnownIssue(models.Model):
    """A ticket marked as a problem many people have: a public status text shown as a banner for the
    node and its subtree while the ticket is open."""

    ticket = models.OneToOneField(
        Ticket, on_delete=models.CASCADE, related_name="known_issue", verbose_name=_("ticket")
    )
    problem_source = models.ForeignKey(
        ProblemSource, on_delete=models.PROTECT, related_name="+", verbose_name=_("problem source")
    )
    status_text = models.CharField(_("public status"), max_length=200)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    objects = KnownIssueQuerySet.as_manager()

    class Meta:
        verbose_name = _("known issue")
        verbose_name_plural = _("known issues")

    def __str__(self) -> str:
        return self.status_text


class TicketMerge(models.Model):
    """What a merge moved from ``merged`` into ``kept``, so that an admin can undo it (admin action
    on the merge's event or here)."""

    kept = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+", verbose_name=_("kept ticket"))
    merged = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+", verbose_name=_("merged ticket"))
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    # Ids of the rows that moved, and the merged ticket's status before it was closed.
    moved = models.JSONField(_("moved rows"), default=dict)
    previous_status = models.CharField(max_length=16)
    created_at = models.DateTimeField(_("merged"), default=timezone.now)
    undone_at = models.DateTimeField(_("undone"), null=True, blank=True)

    class Meta:
        verbose_name = _("ticket merge")
        verbose_name_plural = _("ticket merges")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"#{self.merged_id} → #{self.kept_id}"


# Models of this app kept in their own module; imported here so Django registers them.
from tickets.sla_models import BusinessCalendar, SlaPolicy  # noqa: E402, F401
