from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from teams_app import channels
from teams_app.models import BotChannel, Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """The outbox: what was sent to whom, and what failed. Rows change only through delivery and the
    retry action, never by hand."""

    list_display = [
        "created_at",
        "status",
        "channel",
        "kind",
        "recipient",
        "ticket",
        "attempts",
        "next_attempt_at",
        "last_error",
    ]
    list_filter = ["status", "channel", "kind"]
    list_select_related = ["recipient", "ticket"]
    search_fields = ["recipient__username", "recipient__email", "dedupe_key", "=ticket__id"]
    date_hierarchy = "created_at"
    actions = ["retry_selected"]
    fields = [
        "status",
        "channel",
        "kind",
        "recipient",
        "ticket",
        "event",
        "attempts",
        "next_attempt_at",
        "last_error",
        "fallback_note",
        "dedupe_key",
        "created_at",
        "claimed_at",
        "sent_at",
    ]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # Viewing only; the retry action below does its own permission check.
        return False

    @admin.action(description=_("Retry selected notifications"), permissions=["retry"])
    def retry_selected(self, request, queryset):
        count = queryset.requeue()
        skipped = queryset.count() - count
        self.message_user(
            request,
            ngettext("%(count)d notification queued again.", "%(count)d notifications queued again.", count)
            % {"count": count},
            messages.SUCCESS,
        )
        if skipped:
            self.message_user(
                request,
                _(
                    "Skipped %(count)d: only dead and failed notifications, and those stuck in sending for a while, "
                    "are sent again."
                )
                % {"count": skipped},
                messages.WARNING,
            )

    def has_retry_permission(self, request):
        return request.user.has_perm("teams_app.change_notification")


@admin.register(BotChannel)
class BotChannelAdmin(admin.ModelAdmin):
    """The Teams channels the bot was added to (recorded from its activities); pick the IT channel here
    or on /teams/setup/."""

    list_display = ["team_name", "display_channel_name", "is_it_channel", "is_available", "updated_at"]
    list_filter = ["is_it_channel", "is_available"]
    search_fields = ["team_name", "channel_name"]
    fields = ["team_name", "channel_name", "team_id", "channel_id", "tenant_id", "is_available", "is_it_channel"]
    readonly_fields = fields
    actions = ["make_it_channel"]

    def has_add_permission(self, request):
        return False  # channels are learnt from Teams, never typed in

    @admin.display(description=_("channel"))
    def display_channel_name(self, obj):
        return obj.display_channel_name

    @admin.action(description=_("Post new tickets in this channel"), permissions=["change"])
    def make_it_channel(self, request, queryset):
        chosen = list(queryset.filter(is_available=True)[:2])
        if len(chosen) != 1:
            self.message_user(request, _("Choose exactly one channel the bot is in."), messages.ERROR)
            return
        channels.choose_it_channel(chosen[0])
        self.message_user(
            request, _("New tickets are posted in %(channel)s from now on.") % {"channel": chosen[0]}, messages.SUCCESS
        )
