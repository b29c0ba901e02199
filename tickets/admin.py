from django.contrib import admin
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from mptt.admin import DraggableMPTTAdmin

from accounts.roles import agents
from tickets import routing
from tickets.models import (
    AffectedPerson,
    AssignmentRule,
    Attachment,
    BusinessCalendar,
    Comment,
    InboundMail,
    KnownIssue,
    MailboxConnection,
    ProblemSource,
    SavedTicketFilter,
    SelfHelpArticle,
    SlaPolicy,
    Team,
    Ticket,
    TicketEvent,
    TicketMerge,
    TicketRating,
)
from tickets.problem_sources import sla_policy_origin, tree_write_lock
from tickets.sla import policy_removed, recompute_open_tickets
from tickets.sla_models import WEEKDAYS


@admin.register(ProblemSource)
class ProblemSourceAdmin(DraggableMPTTAdmin):
    """Drag-and-drop tree editing; every write runs under the tree write lock."""

    list_display = [
        "tree_actions",
        "indented_title",
        "name_de",
        "icon",
        "is_active",
        "is_selectable",
        "effective_team",
        "effective_rule",
    ]
    list_display_links = ["indented_title"]
    list_filter = ["is_active", "is_selectable", "team"]
    search_fields = ["name_en", "name_de"]
    fields = [
        "parent",
        "name_en",
        "name_de",
        "help_text_en",
        "help_text_de",
        "icon",
        "is_active",
        "is_selectable",
        "team",
        "assignment_rule",
        "effective_team",
        "effective_rule",
        "sla_policy",
        "effective_sla_policy_display",
    ]
    readonly_fields = ["effective_team", "effective_rule", "effective_sla_policy_display"]
    list_select_related = ["effective_sla_policy"]
    mptt_level_indent = 24

    def get_queryset(self, request):
        # The effective team and rule of every row and the nodes they come from, in the list's one query.
        return routing.with_routing_origin(super().get_queryset(request))

    @staticmethod
    def _origin(node, value: str, from_id, from_en, from_de) -> str:
        if from_id is None:
            return value
        if from_id == node.pk:
            return _("%(value)s (set here)") % {"value": value}
        source = ProblemSource.localised(from_en or "", from_de or "")
        return _("%(value)s (from %(node)s)") % {"value": value, "node": source}

    def _annotated(self, node):
        if node is None or node.pk is None:
            return None
        if not hasattr(node, "team_from_id"):  # the change form's object
            node = routing.with_routing_origin(ProblemSource.objects.filter(pk=node.pk)).get()
        return node

    @admin.display(description=_("effective team"))
    def effective_team(self, node) -> str:
        node = self._annotated(node)
        if node is None:
            return "—"
        if node.effective_team_id is None:
            return _("none: tickets wait for any IT staff")
        return self._origin(node, node.effective_team_name, node.team_from_id, node.team_from_en, node.team_from_de)

    @admin.display(description=_("effective assignment rule"))
    def effective_rule(self, node) -> str:
        node = self._annotated(node)
        if node is None:
            return "—"
        label = AssignmentRule(node.effective_rule or AssignmentRule.NONE).label
        return self._origin(node, label, node.rule_from_id, node.rule_from_en, node.rule_from_de)

    def get_list_display(self, request):
        return [*super().get_list_display(request), "effective_sla_policy_display"]

    @admin.display(description=_("SLA policy in force"))
    def effective_sla_policy_display(self, item):
        """The node's own policy, or the inherited one and the node it comes from (one query on the form)."""
        if item is None or item.pk is None:
            return _("Set when saved: the node's own policy, else the nearest one above.")
        if item.sla_policy_id:
            return _("%(policy)s (set here)") % {"policy": item.sla_policy}
        if item.effective_sla_policy is None:
            return _("None (no node above sets one)")
        origin = sla_policy_origin(item)
        return _("%(policy)s (inherited from %(node)s)") % {
            "policy": item.effective_sla_policy,
            "node": origin if origin is not None else "?",
        }

    def indented_title(self, item):
        return super().indented_title(item)

    indented_title.short_description = _("name")

    def _locked_if_post(self, request, view, *args, **kwargs):
        if request.method != "POST":
            return view(request, *args, **kwargs)
        with tree_write_lock():
            return view(request, *args, **kwargs)

    def changeform_view(self, request, *args, **kwargs):
        return self._locked_if_post(request, super().changeform_view, *args, **kwargs)

    def changelist_view(self, request, *args, **kwargs):
        # Covers drag-and-drop moves and bulk actions, which both POST to the changelist.
        return self._locked_if_post(request, super().changelist_view, *args, **kwargs)

    def delete_view(self, request, *args, **kwargs):
        return self._locked_if_post(request, super().delete_view, *args, **kwargs)


class CommentInline(admin.TabularInline):
    model = Comment
    fields = ["author", "is_internal", "body", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    """For looking things up and deleting; tickets are worked on the site, where every change is
    recorded as an event. Editing here would bypass the timeline, so the admin is read-only."""

    list_display = [
        "pk",
        "title",
        "status",
        "priority",
        "requester",
        "assignee",
        "team",
        "problem_source",
        "created_at",
    ]
    list_filter = ["status", "priority", "team"]
    search_fields = ["title", "requester__username", "requester__email"]
    list_select_related = ["requester", "assignee", "team", "problem_source"]
    fields = [
        "title",
        "description",
        "requester",
        "assignee",
        "team",
        "problem_source",
        "status",
        "priority",
        "due_date",
        "created_at",
        "updated_at",
        "resolved_at",
        "closed_at",
        "first_response_at",
        "sla_policy",
        "first_response_due_at",
        "resolution_due_at",
        "sla_paused_at",
    ]
    readonly_fields = fields
    inlines = [CommentInline]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False


@admin.register(TicketEvent)
class TicketEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "ticket", "kind", "actor", "old_value", "new_value", "is_internal"]
    list_filter = ["kind", "is_internal"]
    list_select_related = ["ticket", "actor"]
    raw_id_fields = ["ticket", "actor", "comment", "attachment"]
    actions = ["undo_merge"]

    @admin.action(description=_("Undo the merges of the selected “ticket merged in” events"))
    def undo_merge(self, request, queryset):
        merge_ids = [int(e.old_value) for e in queryset.filter(kind=TicketEvent.Kind.MERGED).exclude(new_value="")]
        _undo_merges(self, request, TicketMerge.objects.filter(pk__in=merge_ids))

    # The history is a record, not a draft.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    list_display = ["original_name", "ticket", "content_type", "size", "uploaded_by", "created_at"]
    list_select_related = ["ticket", "uploaded_by"]
    fields = ["ticket", "comment", "original_name", "content_type", "size", "is_internal", "uploaded_by", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False


@admin.register(SavedTicketFilter)
class SavedTicketFilterAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "is_shared", "created_at"]
    list_filter = ["is_shared"]
    search_fields = ["name", "owner__username", "owner__last_name"]
    raw_id_fields = ["owner"]


@admin.register(MailboxConnection)
class MailboxConnectionAdmin(admin.ModelAdmin):
    list_display = ["mailbox", "last_run_at", "last_success_at", "last_error"]
    readonly_fields = ["mailbox", "last_run_at", "last_success_at", "last_error"]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False


@admin.register(InboundMail)
class InboundMailAdmin(admin.ModelAdmin):
    """What became of each incoming e-mail; given-up ("poison") ones with their error."""

    list_display = ["created_at", "sender", "subject", "status", "attempts", "ticket", "moved", "last_error"]
    list_filter = ["status", "moved"]
    search_fields = ["sender", "subject", "internet_message_id"]
    readonly_fields = [
        "mailbox",
        "graph_id",
        "internet_message_id",
        "sender",
        "subject",
        "status",
        "attempts",
        "last_error",
        "outcome",
        "ticket",
        "moved",
        "created_at",
        "processed_at",
    ]
    fields = readonly_fields
    actions = ["retry"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Try the selected given-up e-mails again"))
    def retry(self, request, queryset):
        count = queryset.filter(status=InboundMail.Status.POISON).update(
            status=InboundMail.Status.PENDING, attempts=0, processed_at=None
        )
        self.message_user(request, _("%(count)d e-mails will be read again on the next run.") % {"count": count})


# --- Self-help and ratings: written in the web UI (/tickets/help/); here to look them up ------------


@admin.register(SelfHelpArticle)
class SelfHelpArticleAdmin(admin.ModelAdmin):
    list_display = ["title_en", "title_de", "problem_source", "updated_at", "updated_by"]
    search_fields = ["title_en", "title_de", "body_en", "body_de"]
    fields = ["problem_source", "title_en", "title_de", "body_en", "body_de"]
    raw_id_fields = ["problem_source"]


@admin.register(TicketRating)
class TicketRatingAdmin(admin.ModelAdmin):
    list_display = ["created_at", "ticket", "is_positive", "rater", "agent", "problem_source", "comment"]
    list_filter = ["is_positive"]
    readonly_fields = [
        "ticket",
        "round",
        "rater",
        "is_positive",
        "comment",
        "agent",
        "problem_source",
        "created_at",
    ]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


# --- Known issues, affected people, merges (tickets.known_issues) ---------------------------------


def _undo_merges(model_admin, request, merges) -> None:
    from django.contrib import messages
    from django.core.exceptions import ValidationError

    from tickets.known_issues import ticket_merge_undo

    done = 0
    for merge in merges.filter(undone_at__isnull=True):
        try:
            ticket_merge_undo(merge=merge, actor=request.user)
            done += 1
        except ValidationError as error:
            model_admin.message_user(request, f"{merge}: {' '.join(error.messages)}", messages.ERROR)
    model_admin.message_user(request, _("%(count)d merges were undone.") % {"count": done})


@admin.register(TicketMerge)
class TicketMergeAdmin(admin.ModelAdmin):
    """Each merge with what it moved; the action puts it back (as does the action on its event)."""

    list_display = ["created_at", "merged", "kept", "actor", "undone_at"]
    list_select_related = ["merged", "kept", "actor"]
    readonly_fields = ["kept", "merged", "actor", "moved", "previous_status", "created_at", "undone_at"]
    fields = readonly_fields
    actions = ["undo"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Undo the selected merges"))
    def undo(self, request, queryset):
        _undo_merges(self, request, queryset)


@admin.register(KnownIssue)
class KnownIssueAdmin(admin.ModelAdmin):
    """Read only: agents mark, update and resolve known issues on the ticket's page (with events)."""

    list_display = ["status_text", "ticket", "problem_source", "updated_at"]
    list_select_related = ["ticket", "problem_source"]
    fields = ["ticket", "problem_source", "status_text", "created_at", "updated_at"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    """IT teams. Deleting or deactivating one never loses tickets: tickets.routing.team_retire moves
    them to the team of their tree's root first, each with an event."""

    list_display = ["name", "is_active", "member_names", "last_assigned"]
    list_filter = ["is_active"]
    search_fields = ["name"]
    fields = ["name", "members", "channel", "is_active"]
    filter_horizontal = ["members"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("last_assigned").prefetch_related("members")

    @admin.display(description=_("members"))
    def member_names(self, team) -> str:
        return ", ".join(member.display_name for member in team.members.all())

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "members":
            kwargs["queryset"] = agents()  # IT staff only
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "channel":
            from teams_app.models import BotChannel

            kwargs["queryset"] = BotChannel.objects.filter(is_available=True)  # channels the bot is in
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        retiring = change and "is_active" in form.changed_data and not obj.is_active
        if retiring:
            obj.is_active = True  # team_retire deactivates it after moving its tickets
        super().save_model(request, obj, form, change)
        if retiring:
            moved = routing.team_retire(team=obj, actor=request.user)
            obj.is_active = False
            self.message_user(request, _("%(count)d tickets went to the team of their tree's root.") % {"count": moved})

    def delete_model(self, request, obj):
        routing.team_retire(team=obj, actor=request.user, delete=True)

    def delete_queryset(self, request, queryset):
        for team in queryset:
            routing.team_retire(team=team, actor=request.user, delete=True)


# --- Service levels -------------------------------------------------------------------------------


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    """Saving recomputes the due times of the open tickets whose policy uses the calendar."""

    list_display = ["name", "time_zone", "holiday_country", "holiday_subdivision", "working_hours"]
    search_fields = ["name"]
    fieldsets = [
        (None, {"fields": ["name", "time_zone"]}),
        (
            _("Working hours"),
            {
                "fields": [(f"{day}_start", f"{day}_end") for day, _label in WEEKDAYS],
                "description": _(
                    "Leave both times empty for a day off. An end before the start runs past midnight "
                    "(22:00 to 06:00 is a night shift)."
                ),
            },
        ),
        (_("Days off"), {"fields": ["holiday_country", "holiday_subdivision", "closure_days"]}),
    ]

    @admin.display(description=_("Working hours"))
    def working_hours(self, calendar):
        return ", ".join(
            f"{str(WEEKDAYS[day][1])[:2]} {start:%H:%M}–{end:%H:%M}"
            for day, (start, end) in calendar.weekday_hours().items()
        )

    def save_model(self, request, obj, form, change):
        obj.updated_at = timezone.now()
        super().save_model(request, obj, form, change)
        if change:
            count = recompute_open_tickets(calendar=obj)
            self.message_user(request, _("Due times of %(count)d open tickets recomputed.") % {"count": count})


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    """Saving recomputes the due times of the open tickets under the policy."""

    list_display = ["name", "calendar", "first_response_high", "first_response_normal", "resolution_normal"]
    list_select_related = ["calendar"]
    search_fields = ["name"]
    fieldsets = [
        (None, {"fields": ["name", "calendar"]}),
        (
            _("First response (business minutes)"),
            {"fields": [("first_response_high", "first_response_normal", "first_response_low")]},
        ),
        (
            _("Resolution (business minutes)"),
            {"fields": [("resolution_high", "resolution_normal", "resolution_low")]},
        ),
    ]

    def save_model(self, request, obj, form, change):
        obj.updated_at = timezone.now()
        super().save_model(request, obj, form, change)
        if change:
            count = recompute_open_tickets(policy=obj)
            self.message_user(request, _("Due times of %(count)d open tickets recomputed.") % {"count": count})

    @transaction.atomic
    def delete_model(self, request, obj):
        policy_removed(obj)  # its open tickets' clocks stop first
        super().delete_model(request, obj)

    @transaction.atomic
    def delete_queryset(self, request, queryset):
        for policy in queryset:
            policy_removed(policy)
        super().delete_queryset(request, queryset)


@admin.register(AffectedPerson)
class AffectedPersonAdmin(admin.ModelAdmin):
    """Read only: people join and leave on the ticket's page, where it is recorded as an event."""

    list_display = ["user", "ticket", "how", "added_at"]
    list_filter = ["how"]
    list_select_related = ["user", "ticket"]
    fields = ["ticket", "user", "how", "added_at"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
