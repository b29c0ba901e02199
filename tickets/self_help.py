"""Self-help before the form: a short article per problem source, and how often it was enough.

An employee who reaches a node with an article in the picker reads it first. "That solved it" files
nothing and counts one deflection for the node and day (:func:`deflection_count`); "I still need help"
opens the form, and the ticket notes which article was read (:func:`self_help_event`, written by
``services.ticket_create``). IT staff write the articles in the web UI (tickets.self_help_views).
"""

import re
import secrets
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

from tickets.attachments import CheckedFile
from tickets.markdown import render_markdown
from tickets.models import Comment, ProblemSource, SelfHelpArticle, SelfHelpDeflection, SelfHelpImage, TicketEvent


def article_for(node: ProblemSource | None) -> SelfHelpArticle | None:
    """The node's article without a query when the node was loaded with ``select_related("self_help")``."""
    if node is None:
        return None
    try:
        return node.self_help
    except SelfHelpArticle.DoesNotExist:
        return None


def article_read(pk: str | int | None, node: ProblemSource) -> SelfHelpArticle | None:
    """The article a ticket form says was read first, if it still exists and is the node's own."""
    if not str(pk or "").isdecimal():
        return None
    return SelfHelpArticle.objects.filter(pk=int(pk), problem_source=node).first()


_IMAGE_REFERENCE = re.compile(r"!\[([^\]\n]{0,200})\]\(([^)\n]{1,255})\)")


def render_article(article: SelfHelpArticle) -> SafeString:
    """The article's text as sanitised HTML (tickets.markdown) with its pictures inline.

    ``![description](flap.png)`` places the picture uploaded as ``flap.png`` there; pictures the text
    does not mention follow it. Markdown images of anything else are dropped by the sanitiser. The
    pictures' markup is ours, put in after sanitising through placeholders nobody can guess."""
    images = [image for image in article.images.all() if image.content_type.startswith("image/")]
    by_name = {image.original_name: image for image in images}
    marker = f"selfhelpimage{secrets.token_hex(8)}x"
    placed: dict[str, str] = {}
    inline: set[int] = set()

    def place(match: re.Match) -> str:
        image = by_name.get(match.group(2).strip())
        if image is None:
            return match.group(0)
        key = f"{marker}{len(placed)}x"
        placed[key] = _picture(image, match.group(1).strip())
        inline.add(image.pk)
        return key

    html = str(render_markdown(_IMAGE_REFERENCE.sub(place, article.body)))
    for key, picture in placed.items():  # a paragraph of its own becomes a figure; else inline
        html = html.replace(f"<p>{key}</p>", f'<figure class="self-help-figure">{picture}</figure>')
        html = html.replace(key, picture)
    rest = "".join(
        f'<figure class="self-help-figure">{_picture(image, "")}</figure>' for image in images if image.pk not in inline
    )
    return mark_safe(html + rest)  # noqa: S308 - sanitised, values escaped


def _picture(image: SelfHelpImage, description: str) -> str:
    alt = conditional_escape(description or image.original_name)
    return (
        f'<img src="{conditional_escape(image.get_absolute_url())}" alt="{alt}" loading="lazy" '
        'class="img-fluid rounded border d-block my-2">'
    )


@transaction.atomic
def article_save(
    *,
    node: ProblemSource,
    author,
    title_en: str,
    title_de: str,
    body_en: str,
    body_de: str,
    images: Iterable[CheckedFile] = (),
    remove_images: Iterable[SelfHelpImage] = (),
) -> SelfHelpArticle:
    """Create or change the node's article (IT staff only); add and remove its images."""
    if not author.is_agent:
        raise PermissionError("Only IT staff write self-help articles.")
    now = timezone.now()
    article, _created = SelfHelpArticle.objects.update_or_create(
        problem_source=node,
        defaults={
            "title_en": title_en,
            "title_de": title_de,
            "body_en": body_en,
            "body_de": body_de,
            "updated_by": author,
            "updated_at": now,
        },
    )
    for image in remove_images:
        if image.article_id == article.pk:
            image.file.delete(save=False)
            image.delete()
    for checked in images:
        image = SelfHelpImage(
            article=article,
            original_name=checked.name,
            content_type=checked.content_type,
            size=checked.size,
            created_at=now,
        )
        image.file.save(checked.name, checked.upload, save=False)
        image.save()
    return article


@transaction.atomic
def article_delete(*, article: SelfHelpArticle, author) -> None:
    if not author.is_agent:
        raise PermissionError("Only IT staff delete self-help articles.")
    for image in article.images.all():
        image.file.delete(save=False)
    article.delete()


def deflection_count(*, node: ProblemSource, day=None) -> None:
    """Count one "That solved it" for the node on this day (local date), race-safe."""
    day = day or timezone.localdate()
    rows = SelfHelpDeflection.objects.filter(problem_source=node, day=day)
    if rows.update(count=F("count") + 1):
        return
    try:
        with transaction.atomic():
            SelfHelpDeflection.objects.create(problem_source=node, day=day, count=1)
    except IntegrityError:  # another request created the day's row first
        rows.update(count=F("count") + 1)


def self_help_event(ticket, requester, article: SelfHelpArticle, *, at) -> TicketEvent:
    """The event noting that the requester read this article first and still needed help."""
    return TicketEvent(
        ticket=ticket,
        actor=requester,
        kind=TicketEvent.Kind.SELF_HELP,
        new_value=article.title[:255],
        created_at=at,
    )


def reply_for_article(ticket, comment_pk: str) -> Comment | None:
    """A public reply of this ticket (by anybody) whose text may prefill an article; else None."""
    if not comment_pk.isdecimal():
        return None
    return Comment.objects.filter(ticket=ticket, pk=comment_pk, is_internal=False).first()


def offer_replies_as_help(ticket, timeline) -> None:
    """Give each public reply on an agent's timeline a link that turns it into the node's article."""
    from django.urls import reverse

    base = reverse("tickets:self_help_edit", args=[ticket.problem_source_id])
    for event in timeline:
        if event.kind == TicketEvent.Kind.COMMENT and event.comment_id and event.comment:
            event.help_link = (f"{base}?ticket={ticket.pk}&comment={event.comment_id}", ticket.problem_source.name)
