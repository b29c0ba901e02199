"""The Teams tab: its entry pages, password-less sign-in with the Teams SSO token, and the popup
sign-in for when Teams cannot hand out a token (consent still needed)."""

import json
import logging

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.entra import user_for_token_claims
from accounts.tokens import EntraTokenError, validate_access_token
from teams_app import dialogs
from tickets import drafts
from tickets.models import Ticket

logger = logging.getLogger(__name__)

TEAMS_THEMES = {"default": "light", "dark": "dark", "contrast": "dark"}
SESSION_THEME = "teams_theme"
# What each static tab opens, inside the tab and (outside Teams) on the normal site.
TABS = {
    "myTickets": ("dashboard", "/teams/app/"),
    "newTicket": ("tickets:new", "/teams/app/tickets/new/"),
}


@require_GET
def tab(request, entity: str):
    """The page a static tab loads: it asks Teams who is there, signs them in and moves on."""
    site_url_name, tab_url = TABS[entity]
    # Opened as the "Create ticket" dialog of a Teams message: the form starts with its text.
    if entity == "newTicket" and request.GET.get("draft"):
        drafts.store(request.session, request.GET["draft"])
    # Opened by the bot as a dialog: filing the ticket closes it and the chat shows the ticket's card.
    if entity == "newTicket" and request.GET.get("dialog") == "1":
        dialogs.open_dialog(request)
    context = {
        "entity": entity,
        "tab_url": tab_url,
        "site_url": reverse(site_url_name),
        "signed_in": request.user.is_authenticated,
        "sso_enabled": settings.ENTRA_ENABLED,
    }
    return render(request, "teams_app/tab.html", context)


@require_POST
def sso(request):
    """Exchange the Teams SSO token for a session: the same user as the web sign-in, by object id."""
    if not settings.ENTRA_ENABLED:
        raise Http404
    try:
        payload = json.loads(request.body or b"{}")
    except ValueError:
        return JsonResponse({"error": _("The request was not understood.")}, status=400)
    token = payload.get("token") if isinstance(payload, dict) else None
    if not isinstance(token, str) or not token:
        return JsonResponse({"error": _("No sign-in token was sent.")}, status=400)
    try:
        claims = validate_access_token(token)
    except EntraTokenError as error:
        logger.warning("Teams SSO token refused: %s", error)
        return JsonResponse(
            {"error": _("Microsoft Teams could not confirm who you are."), "reason": str(error)}, status=403
        )
    user = user_for_token_claims(claims)
    if user is None or not user.is_active:
        return JsonResponse({"error": _("This account is deactivated. Please contact IT.")}, status=403)
    login(request, user, backend="accounts.entra.EntraIDBackend")
    theme = payload.get("theme")
    if theme in TEAMS_THEMES:
        request.session[SESSION_THEME] = TEAMS_THEMES[theme]
    return JsonResponse({"ok": True})


@require_POST
def theme(request):
    """Teams changed its theme while the tab was open: remember it for the next pages."""
    value = request.POST.get("theme", "")
    if value not in TEAMS_THEMES:
        return JsonResponse({"error": _("Unknown theme.")}, status=400)
    request.session[SESSION_THEME] = TEAMS_THEMES[value]
    return JsonResponse({"ok": True})


@require_GET
def auth_start(request):
    """Opened by Teams in a popup: start the normal Microsoft sign-in, then come back to auth_end."""
    if not settings.ENTRA_ENABLED:
        raise Http404
    return render(request, "teams_app/auth_start.html", {"next": reverse("teams_app:auth_end")})


@require_GET
def auth_end(request):
    """The popup's last page: tell Teams that the sign-in worked (or not), which closes it."""
    return render(request, "teams_app/auth_end.html", {"signed_in": request.user.is_authenticated})


@login_required
@require_GET
def dialog_done(request, pk: int):
    """The dialog's last page: it hands the new ticket's number to the bot and closes (outside Teams
    it simply links to the ticket)."""
    ticket = get_object_or_404(Ticket.objects.visible_to(request.user), pk=pk)
    return render(request, "teams_app/dialog_done.html", {"ticket": ticket, "bot_id": settings.ENTRA_CLIENT_ID})
