"""The admins' Teams setup page: what to register in Entra ID, which settings are missing, and the
package to upload in the Teams admin center."""

import base64
import uuid
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from teams_app import activity_types, channels, icons, manifest, registration
from teams_app.forms import ITChannelForm
from teams_app.models import BotChannel
from tickets.models import MailboxConnection


def staff_required(view):
    """Staff only; everyone else who is signed in gets a 404, as if the page did not exist."""

    @wraps(view)
    @login_required
    def wrapper(request, *args, **kwargs):
        if not request.user.is_staff:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


@never_cache
@staff_required
@require_GET
def setup(request):
    problems = manifest.package_problems()
    config = None if problems else manifest.package_settings()
    context = {
        "problems": problems,
        "config": config,
        "tabs": manifest.manifest(config)["staticTabs"] if config else [],
        "manifest_version": manifest.MANIFEST_VERSION,
        "activity_types": activity_types.ALL,
        "activity_feed_permission": manifest.ACTIVITY_FEED_PERMISSION,
        "color_icon": base64.b64encode(icons.color_icon()).decode(),
        "outline_icon": base64.b64encode(icons.outline_icon()).decode(),
        "redirect_uris": registration.redirect_uris(),
        "client_id": settings.ENTRA_CLIENT_ID,
        "tenant_id": settings.ENTRA_TENANT_ID,
        "bot_enabled": settings.TEAMS_BOT_ENABLED,
        "bot_messaging_endpoint": registration.bot_messaging_endpoint(),
        "app_id_uri": settings.ENTRA_APP_ID_URI if settings.ENTRA_CLIENT_ID else "",
        "scope": registration.SCOPE,
        "preauthorized_clients": registration.PREAUTHORIZED_CLIENTS,
        "delegated_permissions": registration.DELEGATED_GRAPH_PERMISSIONS,
        "application_permissions": registration.APPLICATION_GRAPH_PERMISSIONS,
        "app_roles": registration.app_roles(),
        "setting_rows": registration.setting_rows(problems),
        # A fresh GUID to copy, for whoever has not chosen one yet.
        "suggested_app_id": "" if settings.TEAMS_APP_ID else str(uuid.uuid4()),
        "mail": _mail_setup(),
        "it_channel_form": ITChannelForm(),
        "channels_known": BotChannel.objects.filter(is_available=True).exists(),
        "webhook_configured": bool(settings.TEAMS_WEBHOOK_URL),
    }
    return render(request, "teams_app/setup.html", context)


@never_cache
@staff_required
@require_GET
def setup_package(request):
    """The zip to upload in the Teams admin center."""
    try:
        config = manifest.package_settings()
    except manifest.PackageSettingsError:
        messages.error(request, _("The Teams package cannot be built yet: some settings are missing."))
        return redirect("teams_app:setup")
    return HttpResponse(
        manifest.build_package(config),
        content_type="application/zip",
        headers={
            "Content-Disposition": content_disposition_header(
                as_attachment=True, filename=manifest.package_filename(config)
            )
        },
    )


@staff_required
@require_POST
def setup_it_channel(request):
    """Choose the IT channel (or none) among the channels the bot was added to."""
    form = ITChannelForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Please choose one of the channels the bot was added to."))
        return redirect(f"{reverse('teams_app:setup')}#it-channel")
    channel = form.cleaned_data["channel"]
    channels.choose_it_channel(channel)
    if channel is None:
        messages.success(request, _("No IT channel: new tickets are not posted by the bot."))
    else:
        messages.success(request, _("New tickets are posted in %(channel)s from now on.") % {"channel": channel})
    return redirect(f"{reverse('teams_app:setup')}#it-channel")


def _mail_setup() -> dict:
    """Sending through Graph and the mailbox intake: the permissions, the Exchange RBAC scoping lines
    with this installation's values, and how the intake's last run went."""
    mailbox = settings.MAIL_INTAKE_MAILBOX or settings.EMAIL_GRAPH_MAILBOX or "it@contoso.com"
    app = settings.ENTRA_CLIENT_ID or "<client id>"
    scope = "TinyTeamsTicket help-desk mailbox"
    lines = [f'New-ManagementScope -Name "{scope}" -RecipientRestrictionFilter "PrimarySmtpAddress -eq \'{mailbox}\'"']
    for role in ("Application Mail.Send", "Application Mail.ReadWrite"):
        lines.append(f'New-ManagementRoleAssignment -App {app} -Role "{role}" -CustomResourceScope "{scope}"')
    return {
        "send_mailbox": settings.EMAIL_GRAPH_MAILBOX,
        "intake_mailbox": settings.MAIL_INTAKE_MAILBOX,
        "permissions": [
            ("Mail.Send", _("sends the app's e-mail as the help-desk mailbox (EMAIL_URL=graph://…)")),
            ("Mail.ReadWrite", _("reads the help-desk mailbox and moves processed messages (MAIL_INTAKE_MAILBOX)")),
        ],
        "powershell": lines,
        "connection": MailboxConnection.objects.filter(mailbox=settings.MAIL_INTAKE_MAILBOX).first()
        if settings.MAIL_INTAKE_MAILBOX
        else None,
    }
