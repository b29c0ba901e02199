"""A rating on the way out: "Did this solve your problem?" once per resolution of a ticket.

The requester answers on the ticket page or through a link in the "resolved" notification. The link
carries a token signed with ``django.core.signing`` (salted for this one purpose) that names the
ticket, its requester and the resolution (``round``, the ticket's ``reopened_count``); it expires
after ``TICKET_RATING_LINK_DAYS`` and works without signing in for that one rating only: it opens
no page but the rating form, and it is used up by the rating (one per ticket and round, a unique
constraint), whichever way that rating was given.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from tickets import services
from tickets.models import Comment, Ticket, TicketEvent, TicketRating

SALT = "tickets.ratings.link"
UP, DOWN = "up", "down"


def was_resolved(ticket: Ticket) -> bool:
    """Resolved, or closed after it was resolved (the automatic close): a solution to rate. A ticket
    closed straight away (by its requester, "problem solved", or by IT) asks nothing; nor does one
    resolved more than TICKET_RATING_LINK_DAYS ago."""
    asked_since = timezone.now() - timedelta(days=settings.TICKET_RATING_LINK_DAYS)
    if ticket.resolved_at is None or ticket.resolved_at < asked_since:
        return False
    if ticket.status == Ticket.Status.RESOLVED:
        return True
    return (
        ticket.status == Ticket.Status.CLOSED
        and ticket.resolved_at is not None
        and ticket.closed_at is not None
        and ticket.resolved_at < ticket.closed_at
    )


class RatingLinkError(Exception):
    """Why a rating link cannot be used, in words for the person who clicked it."""


class AlreadyRated(Exception):  # noqa: N818 - a state, not a failure
    pass


def rating_token(ticket: Ticket) -> str:
    """A signed token for rating the ticket's current resolution, by its requester."""
    return signing.dumps({"t": ticket.pk, "u": ticket.requester_id, "r": ticket.reopened_count}, salt=SALT)


def rating_url(ticket: Ticket) -> str:
    """The absolute link for e-mails and Teams (SITE_URL + the signed rating page)."""
    return f"{settings.SITE_URL}{reverse('tickets:rate_link', args=[rating_token(ticket)])}"


def rating_link_for(ticket: Ticket, user) -> str | None:
    """The signed rating link for this person's notification or card, or None when they are not
    asked (not the requester, the ticket is not finished, or this resolution was rated)."""
    if user is None or user.pk != ticket.requester_id or not was_resolved(ticket):
        return None
    if TicketRating.objects.filter(ticket=ticket, round=ticket.reopened_count).exists():
        return None
    return rating_url(ticket)


@dataclass(frozen=True)
class LinkTarget:
    ticket: Ticket
    rater: object  # the requester the link was made for


def ticket_for_token(token: str) -> LinkTarget:
    """The ticket and person a rating link is for; RatingLinkError when it is tampered with, expired,
    for another person or an earlier resolution, or already used (AlreadyRated)."""
    try:
        claims = signing.loads(token, salt=SALT, max_age=settings.TICKET_RATING_LINK_DAYS * 86400)
    except signing.SignatureExpired:
        raise RatingLinkError(_("This rating link has expired. You can still rate on the ticket page.")) from None
    except signing.BadSignature:
        raise RatingLinkError(_("This rating link is not valid.")) from None
    if not isinstance(claims, dict) or not all(isinstance(claims.get(key), int) for key in ("t", "u", "r")):
        raise RatingLinkError(_("This rating link is not valid."))
    ticket = Ticket.objects.select_related("requester").filter(pk=claims["t"]).first()
    if ticket is None or ticket.requester_id != claims["u"] or not ticket.requester.is_active:
        raise RatingLinkError(_("This rating link is not valid."))
    if TicketRating.objects.filter(ticket=ticket, round=claims["r"]).exists():
        raise AlreadyRated
    if ticket.reopened_count != claims["r"] or not was_resolved(ticket):
        raise RatingLinkError(_("This ticket has changed since the link was sent; it cannot be rated with it."))
    return LinkTarget(ticket=ticket, rater=ticket.requester)


def rated_rounds(events) -> set[str]:
    """The rounds rated according to a ticket's (already loaded) events: no query of its own."""
    return {event.old_value for event in events if event.kind == TicketEvent.Kind.RATING}


def may_rate(ticket: Ticket, user, events) -> bool:
    """Ask this person now? The requester of a finished ticket whose resolution is not rated yet."""
    return (
        user.pk == ticket.requester_id
        and was_resolved(ticket)
        and str(ticket.reopened_count) not in rated_rounds(events)
    )


@dataclass(frozen=True)
class RatingResult:
    rating: TicketRating
    reopened: bool
    reopen_refused: bool


@transaction.atomic
def ticket_rate(*, ticket: Ticket, user, is_positive: bool, comment: str = "", reopen: bool = False) -> RatingResult:
    """Record the requester's rating with its event (and the comment as a public reply); a thumbs
    down with ``reopen`` reopens the ticket through services.ticket_reopen where still allowed.

    Raises AlreadyRated when this resolution was rated, PermissionDenied for anybody but the
    requester or a ticket that is not resolved or closed."""
    ticket = services._lock(ticket)  # the workflows' row lock, with requester and assignee
    if user.pk != ticket.requester_id or not was_resolved(ticket):
        raise PermissionDenied("Only the requester rates a resolved or closed ticket.")
    now = timezone.now()
    try:
        with transaction.atomic():
            rating = TicketRating.objects.create(
                ticket=ticket,
                round=ticket.reopened_count,
                rater=user,
                is_positive=is_positive,
                comment=comment,
                agent=ticket.assignee,
                problem_source_id=ticket.problem_source_id,
                created_at=now,
            )
    except IntegrityError:
        raise AlreadyRated from None
    reply = Comment.objects.create(ticket=ticket, author=user, body=comment, created_at=now) if comment else None
    TicketEvent.objects.create(
        ticket=ticket,
        actor=user,
        kind=TicketEvent.Kind.RATING,
        old_value=str(rating.round),
        new_value=UP if is_positive else DOWN,
        comment=reply,
        created_at=now,
    )
    Ticket.objects.filter(pk=ticket.pk).update(updated_at=now)
    reopened = refused = False
    if reopen and not is_positive:
        if ticket.can_be_reopened_by(user):
            services.ticket_reopen(ticket=ticket, user=user)
            reopened = True
        else:
            refused = True
    return RatingResult(rating=rating, reopened=reopened, reopen_refused=refused)
