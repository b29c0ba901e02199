"""The ticket form opened as a Teams dialog (the bot's "New ticket", the "Create ticket" message
action): what happens around filing it.

- ``open_dialog`` (the tab page, opened with ``dialog=1``): remember in the session that the form
  runs in a dialog.
- ``ticket_filed`` (``tickets.views.ticket_new``, right after filing, before the draft is discarded):
  keep the link back to the Teams message of the draft, if any (``TeamsMessageLink``), have its
  images attached in the background (``teams_app.message_images``), and send the
  dialog to the page that closes it (``dialog_done``), which hands the ticket's number to the bot
  (``task/submit``): the bot then posts the ticket's card in the person's chat
  (``teams_app.bot.dialog_submitted``).
"""

from django.urls import reverse

from teams_app import message_images
from teams_app.models import TeamsMessageLink
from tickets import drafts

SESSION_KEY = "teams_dialog"
TEAMS_LINK_PREFIX = "https://teams.microsoft.com/"


def open_dialog(request) -> None:
    request.session[SESSION_KEY] = True


def ticket_filed(request, ticket) -> str | None:
    """After filing: keep the draft's link to its Teams message; returns the address that closes the
    dialog, or None outside a dialog."""
    link = drafts.message_link(request)
    if link.startswith(TEAMS_LINK_PREFIX):
        TeamsMessageLink.objects.get_or_create(ticket=ticket, defaults={"url": link})
    urls, service_url = drafts.images(request)
    message_images.schedule(ticket=ticket, user=request.user, urls=urls, service_url=service_url)
    if not request.session.pop(SESSION_KEY, False):
        return None
    return reverse("teams_app:dialog_done", args=[ticket.pk])


def message_link(ticket) -> str:
    """The Teams message a ticket was made from, or ''."""
    return TeamsMessageLink.objects.filter(ticket=ticket).values_list("url", flat=True).first() or ""
