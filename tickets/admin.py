from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from mptt.admin import DraggableMPTTAdmin

from tickets.models import (
    AffectedPerson,
    Attachment,
    Comment,
    InboundMail,
    KnownIssue,
    MailboxConnection,
    ProblemSource,
    SavedTicketFilter,
    Ticket,
    TicketEvent,
    TicketMerge,
)
from tickets.problem_sources import tree_write_lock


@admin.register(ProblemSource)
class ProblemSourceAdmin(DraggableMPTTAdmin):
    """Drag-and-drop tree editing; every write runs under the tree write lock."""

    list_display = ["tree_actions", "indented_title", "name_de", "icon", "is_active", "is_selectable"]
    list_display_links = ["indented_title"]
    list_filter = ["is_active", "is_selectable"]
    search_fields = ["name_en", "name_de"]
    fields = ["parent", "name_en", "name_de", "help_text_en", "help_text_de", "icon", "is_active", "is_selectable"]
    mptt_level_indent = 24

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

    list_display = ["pk", "title", "status", "priority", "requester", "assignee", "problem_source", "created_at"]
    list_filter = ["status", "priority"]
    search_fields = ["title", "requester__username", "requester__email"]
    list_select_related = ["requester", "assignee", "problem_source"]
    fields = [
        "title",
        "description",
        "requester",
        "assignee",
        "problem_source",
        "status",
        "priority",
        "due_date",
        "created_at",
        "updated_at",
        "resolved_at",
        "closed_at",
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
