"""The images of a Teams message turned into a ticket ("Create ticket" message action) become the
ticket's attachments.

Teams hands a message's images over as addresses, not bytes: image attachments of the message
payload (``contentUrl`` at the Bot Connector, read with the bot's token) and images in its HTML body
(Graph "hosted contents", read with the app's Graph token). ``image_refs`` picks those whose address
is at one of these two places and nowhere else (no request to an address a message could name);
the draft carries them (``tickets.drafts``), and once the ticket is filed a background task
(``attach_message_images``) downloads them through ``core.microsoft``, checks them like any upload
(``tickets.attachments.check_upload``) and attaches them. Nothing in the request waits for Microsoft.
"""

import html
import logging
import re
from urllib.parse import unquote, urlsplit

from background_task import background
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from core import microsoft as graph

logger = logging.getLogger(__name__)

MAX_IMAGES = 5
_IMG_SRC = re.compile(r"""<img\b[^>]*?\bsrc\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp", "image/bmp": "bmp"}


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = -1
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


# The one kind of Graph address a message's image may have: a hosted content of a chat or channel
# message (``…/messages/<id>/hostedContents/<id>/$value``). Nothing else on Graph is fetched with the
# app's token (which may read other chats and the help-desk mailbox).
_HOSTED_CONTENT = re.compile(r"/messages/(?P<message>[^/]+)/hostedContents/[^/]+/\$value")


def source_of(url: str, service_url: str) -> str | None:
    """Where an image address points: "bot" (the activity's Bot Connector), "graph" (a message's
    hosted content on our Graph), or None for anything else, which is never fetched."""
    origin = _origin(url)
    if not origin[1] or origin[0] not in ("https", "http"):
        return None
    if service_url and origin == _origin(service_url):
        return "bot"
    if origin == _origin(settings.GRAPH_URL) and _hosted_message(url) is not None:
        return "graph"
    return None


def _hosted_message(url: str) -> str | None:
    """The message id of a hosted-content address (unquoted), else None."""
    path = urlsplit(url).path
    match = _HOSTED_CONTENT.search(path)
    return unquote(match["message"]) if match and match.end() == len(path) else None


def image_refs(payload: dict, *, service_url: str) -> list[str]:
    """The addresses of the message's images that may be fetched, at most MAX_IMAGES."""
    urls: list[str] = []
    for item in payload.get("attachments") or []:
        if not isinstance(item, dict):
            continue
        if str(item.get("contentType") or "").lower().startswith("image/") and item.get("contentUrl"):
            urls.append(str(item["contentUrl"]))
    body = payload.get("body") if isinstance(payload.get("body"), dict) else {}
    urls += [html.unescape(src) for src in _IMG_SRC.findall(str(body.get("content") or ""))]
    message_id = str(payload.get("id") or "")

    def allowed(url: str) -> bool:
        source = source_of(url, service_url)
        # A Graph image only of this very message: a body can name any address.
        return source == "bot" or (source == "graph" and bool(message_id) and _hosted_message(url) == message_id)

    return [url for url in dict.fromkeys(urls) if allowed(url)][:MAX_IMAGES]


def schedule(*, ticket, user, urls: list[str], service_url: str) -> None:
    """Attach these images to the new ticket in the background (a task row, written now)."""
    if urls:
        attach_message_images(ticket.pk, user.pk, list(urls)[:MAX_IMAGES], service_url)


@background(schedule=0, name="teams_app.tasks.attach_message_images")
def attach_message_images(ticket_id: int, user_id: int, urls: list[str], service_url: str) -> None:
    attach(ticket_id=ticket_id, user_id=user_id, urls=urls, service_url=service_url)


def attach(*, ticket_id: int, user_id: int, urls: list[str], service_url: str) -> int:
    """Download the images and attach those that pass the upload checks; returns how many. An image
    that cannot be had (refused, gone, too large, not an image) is left out and logged; a transient
    failure is tried again a few times (honouring Retry-After)."""
    from tickets import services
    from tickets.attachments import check_upload
    from tickets.models import Ticket

    ticket = Ticket.objects.filter(pk=ticket_id).first()
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if ticket is None or user is None:
        return 0
    files = []
    for number, url in enumerate(urls[:MAX_IMAGES], start=1):
        source = source_of(url, service_url)
        if source is None:
            continue
        try:
            content, content_type = graph.call_with_retry(lambda url=url, source=source: _fetch(url, source))
        except graph.MicrosoftError as error:
            logger.warning("An image of the Teams message of ticket %s could not be fetched: %s", ticket_id, error)
            continue
        name = f"teams-image-{number}.{_EXTENSIONS.get(content_type, 'png')}"
        try:
            files.append(check_upload(SimpleUploadedFile(name, content, content_type)))
        except ValidationError as error:
            logger.warning("An image of the Teams message of ticket %s was refused: %s", ticket_id, error.messages)
    if files:
        services.ticket_attach(ticket=ticket, user=user, files=files)
    return len(files)


def _fetch(url: str, source: str) -> tuple[bytes, str]:
    token = graph.bot_token() if source == "bot" else graph.app_token()
    return graph.download(url, token=token, max_bytes=settings.ATTACHMENT_MAX_BYTES)
