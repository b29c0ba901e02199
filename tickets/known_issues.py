"""Known issues, affected people, duplicates and merges: the workflows (services).

An agent marks a ticket as a *known issue* for a problem-source node and its subtree, with a short
public status text. While the ticket is open, banners show the text for that subtree; people hit by
the same problem press "Affects me too" and become *affected* people of the ticket: they see its
public timeline (``Ticket.objects.visible_to``) and hear when the status text changes or the ticket
is resolved (``teams_app.notifications``). Duplicates are closed with a link to the known issue, and
their requesters become affected. A merge moves comments, files and affected people into the kept
ticket and records what moved (``TicketMerge``), so that an admin can undo it.

Each workflow runs in one transaction, writes its events and announces them like ``tickets.services``.
"""

from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tickets.models import (
    AffectedPerson,
    Attachment,
    Comment,
    KnownIssue,
    ProblemSource,
    Ticket,
    TicketEvent,
    TicketMerge,
)
from tickets.services import _event, _lock, _save_change, _set_status

Kind = TicketEvent.Kind
Status = Ticket.Status
How = AffectedPerson.How

# Events that belong to a comment or a file and move with it in a merge.
CONTENT_KINDS = (Kind.COMMENT, Kind.INTERNAL_NOTE, Kind.ATTACHMENT)


def _require_agent(actor, what: str) -> None:
    if not actor.is_agent:
        raise PermissionDenied(f"Only IT staff {what}.")


def _clean_status_text(status_text: str) -> str:
    text = " ".join((status_text or "").split())
    if not text:
        raise ValidationError(_("Please write a short public status."))
    if len(text) > 200:
        raise ValidationError(_("The public status can have at most 200 characters."))
    return text


@transaction.atomic
def known_issue_mark(*, ticket: Ticket, actor, problem_source: ProblemSource, status_text: str) -> KnownIssue:
    """Mark ``ticket`` as a known issue for ``problem_source`` and its subtree, or change its node
    and public status. Affected people hear of a changed status text."""
    _require_agent(actor, "mark known issues")
    status_text = _clean_status_text(status_text)
    ticket = _lock(ticket)
    if not ticket.is_open:
        raise ValidationError(_("Only an open ticket can be a known issue."))
    now = timezone.now()
    known = KnownIssue.objects.filter(ticket=ticket).first()
    old_text = known.status_text if known else ""
    if known is None:
        known = KnownIssue(ticket=ticket, created_at=now)
    known.problem_source, known.status_text, known.updated_at = problem_source, status_text, now
    known.save()
    if status_text != old_text:
        _save_change(
            ticket, [_event(ticket, actor, Kind.KNOWN_ISSUE, old=old_text[:255], new=status_text, at=now)], now
        )
    return known


@transaction.atomic
def known_issue_resolve(*, ticket: Ticket, actor, status_text: str) -> list[TicketEvent]:
    """Resolve a known issue with a last public status: everyone affected hears of it once."""
    _require_agent(actor, "resolve known issues")
    status_text = _clean_status_text(status_text)
    ticket = _lock(ticket)
    known = KnownIssue.objects.filter(ticket=ticket).first()
    if known is None:
        raise ValidationError(_("This ticket is not a known issue."))
    if not ticket.is_open:  # resolved or closed meanwhile: its known issue ended with it
        raise ValidationError(_("This ticket is finished already; its known issue ended with it."))
    now = timezone.now()
    events = []
    if status_text != known.status_text:
        events.append(_event(ticket, actor, Kind.KNOWN_ISSUE, old=known.status_text, new=status_text, at=now))
        known.status_text, known.updated_at = status_text, now
        known.save(update_fields=["status_text", "updated_at"])
    if ticket.status != Status.RESOLVED:
        events.append(_event(ticket, actor, Kind.STATUS, old=ticket.status, new=Status.RESOLVED, at=now))
        _set_status(ticket, Status.RESOLVED, now)
    if events:
        _save_change(ticket, events, now)
    return events


def _add_affected(ticket: Ticket, user, how: str, actor, now) -> TicketEvent | None:
    """Make ``user`` affected by ``ticket`` (not its requester, not twice); the internal event or None."""
    if user.pk == ticket.requester_id:
        return None
    _row, created = AffectedPerson.objects.get_or_create(
        ticket=ticket, user=user, defaults={"how": how, "added_at": now}
    )
    if not created:
        return None
    # Internal: nobody but IT staff learns who else is affected.
    return _event(ticket, actor, Kind.AFFECTED, new=user.pk, is_internal=True, at=now)


@transaction.atomic
def affected_add(*, ticket: Ticket, user) -> bool:
    """ "Affects me too": ``user`` becomes affected by this open known issue. False if they already
    were (or filed it themselves)."""
    ticket = _lock(ticket)
    if not ticket.is_open or not KnownIssue.objects.filter(ticket=ticket).exists():
        raise ValidationError(_("This known issue is no longer open."))
    now = timezone.now()
    event = _add_affected(ticket, user, How.ME_TOO, user, now)
    if event is None:
        return False
    TicketEvent.objects.bulk_create([event])
    Ticket.objects.filter(pk=ticket.pk).update(updated_at=now)  # its last event, as for every change
    return True


@transaction.atomic
def affected_remove(*, ticket: Ticket, user, actor) -> bool:
    """``user`` is no longer affected (they said so, or an agent removed them): they stop seeing the
    ticket at once. False if they were not affected."""
    if actor.pk != user.pk:
        _require_agent(actor, "remove other people from a ticket")
    ticket = _lock(ticket)
    deleted, _rows = AffectedPerson.objects.filter(ticket=ticket, user=user).delete()
    if not deleted:
        return False
    now = timezone.now()
    TicketEvent.objects.bulk_create([_event(ticket, actor, Kind.AFFECTED, old=user.pk, is_internal=True, at=now)])
    Ticket.objects.filter(pk=ticket.pk).update(updated_at=now)
    return True


def _close_as_duplicate(duplicate: Ticket, kept: Ticket, actor, now) -> list[TicketEvent]:
    events = [_event(duplicate, actor, Kind.DUPLICATE, new=kept.pk, at=now)]
    if duplicate.status != Status.CLOSED:
        events.append(_event(duplicate, actor, Kind.STATUS, old=duplicate.status, new=Status.CLOSED, at=now))
        _set_status(duplicate, Status.CLOSED, now)
    return events


def _lock_pair(first: Ticket, second: Ticket) -> tuple[Ticket, Ticket]:
    """Lock two tickets in id order (two agents merging crosswise cannot deadlock)."""
    if first.pk == second.pk:
        raise ValidationError(_("A ticket cannot be a duplicate of itself."))
    locked = {ticket.pk: _lock(ticket) for ticket in sorted((first, second), key=lambda ticket: ticket.pk)}
    return locked[first.pk], locked[second.pk]


@transaction.atomic
def duplicate_attach(*, duplicate: Ticket, known: Ticket, actor) -> None:
    """One click for a ticket filed despite a known issue: it is closed with a link to the known
    issue, and its requester becomes affected by the known issue."""
    _require_agent(actor, "attach duplicates")
    duplicate, known = _lock_pair(duplicate, known)
    if not known.is_open or not KnownIssue.objects.filter(ticket=known).exists():
        raise ValidationError(_("This known issue is no longer open."))
    now = timezone.now()
    affected = _add_affected(known, duplicate.requester, How.DUPLICATE, actor, now)
    if affected is not None:
        TicketEvent.objects.bulk_create([affected])
        Ticket.objects.filter(pk=known.pk).update(updated_at=now)
    _save_change(duplicate, _close_as_duplicate(duplicate, known, actor, now), now)


@transaction.atomic
def ticket_merge(*, kept: Ticket, merged: Ticket, actor) -> TicketMerge:
    """Merge ``merged`` into ``kept``: its comments and files (with their events) and its affected
    people move, its requester becomes affected, and it is closed as a duplicate. Events on both;
    what moved is recorded in a TicketMerge, so that ``ticket_merge_undo`` can put it back."""
    _require_agent(actor, "merge tickets")
    kept, merged = _lock_pair(kept, merged)
    now = timezone.now()
    comment_ids = list(Comment.objects.filter(ticket=merged).values_list("pk", flat=True))
    attachment_ids = list(Attachment.objects.filter(ticket=merged).values_list("pk", flat=True))
    event_ids = list(TicketEvent.objects.filter(ticket=merged, kind__in=CONTENT_KINDS).values_list("pk", flat=True))
    Comment.objects.filter(pk__in=comment_ids).update(ticket=kept)
    Attachment.objects.filter(pk__in=attachment_ids).update(ticket=kept)
    TicketEvent.objects.filter(pk__in=event_ids).update(ticket=kept)

    events, added_users = [], []
    people = [(row.user, row.how) for row in AffectedPerson.objects.filter(ticket=merged).select_related("user")]
    for user, how in [(merged.requester, How.MERGE), *people]:
        event = _add_affected(kept, user, how, actor, now)
        if event is not None:
            events.append(event)
            added_users.append(user.pk)
    moved_affected = [  # as they were, so that an undo puts them back exactly
        [user_id, how, added_at.isoformat()]
        for user_id, how, added_at in AffectedPerson.objects.filter(ticket=merged).values_list(
            "user_id", "how", "added_at"
        )
    ]
    AffectedPerson.objects.filter(ticket=merged).delete()

    merge = TicketMerge.objects.create(
        kept=kept,
        merged=merged,
        actor=actor,
        previous_status=merged.status,
        created_at=now,
        moved={
            "comments": comment_ids,
            "attachments": attachment_ids,
            "events": event_ids,
            "affected_added": added_users,  # AffectedPerson rows created on the kept ticket
            "affected_removed": moved_affected,  # the merged ticket's own affected people: [id, how, added]
        },
    )
    events.append(_event(kept, actor, Kind.MERGED, old=merge.pk, new=merged.pk, at=now))
    _save_change(kept, events, now)
    _save_change(merged, _close_as_duplicate(merged, kept, actor, now), now)
    return merge


@transaction.atomic
def ticket_merge_undo(*, merge: TicketMerge, actor) -> None:
    """Put back what ``merge`` moved and reopen the merged ticket with its status before the merge.

    Comments, files and their events go back to the merged ticket; the affected people the merge
    added to the kept ticket are removed from it and the merged ticket's own come back. Anything
    written on the kept ticket after the merge stays there. Events on both record the undo."""
    _require_agent(actor, "undo merges")
    merge = TicketMerge.objects.select_for_update().get(pk=merge.pk)
    if merge.undone_at is not None:
        raise ValidationError(_("This merge was already undone."))
    kept, merged = _lock_pair(merge.kept, merge.merged)
    now = timezone.now()
    moved = merge.moved
    Comment.objects.filter(pk__in=moved.get("comments", []), ticket=kept).update(ticket=merged)
    Attachment.objects.filter(pk__in=moved.get("attachments", []), ticket=kept).update(ticket=merged)
    TicketEvent.objects.filter(pk__in=moved.get("events", []), ticket=kept).update(ticket=merged)
    AffectedPerson.objects.filter(ticket=kept, user_id__in=moved.get("affected_added", [])).delete()
    AffectedPerson.objects.bulk_create(
        [_restored(merged, entry, now) for entry in moved.get("affected_removed", [])], ignore_conflicts=True
    )
    merge.undone_at = now
    merge.save(update_fields=["undone_at"])
    _save_change(kept, [_event(kept, actor, Kind.MERGED, old=merge.pk, new="", at=now)], now)
    events = [_event(merged, actor, Kind.DUPLICATE, old=kept.pk, new="", at=now)]
    if merged.status != merge.previous_status:
        events.append(_event(merged, actor, Kind.STATUS, old=merged.status, new=merge.previous_status, at=now))
        _set_status(merged, merge.previous_status, now)
    _save_change(merged, events, now)


def _restored(ticket: Ticket, entry, now) -> AffectedPerson:
    """An affected person a merge took off ``ticket``, as recorded: [user id, how, added] (or, in
    merges recorded before that, the user id alone)."""
    if isinstance(entry, int):
        return AffectedPerson(ticket=ticket, user_id=entry, added_at=now)
    user_id, how, added_at = entry
    return AffectedPerson(ticket=ticket, user_id=user_id, how=how, added_at=datetime.fromisoformat(added_at))


# --- Reading: what pages show -------------------------------------------------------------------

A_COLLEAGUE = gettext_lazy("A colleague")
"""How an affected person sees anybody but themselves and IT staff."""


def actor_is_staff(prefix: str = "actor"):
    """An expression: the event's actor (or ``prefix``'s person) is IT staff (accounts.roles.agents)."""
    User = get_user_model()  # noqa: N806
    in_group = User.groups.through.objects.filter(user_id=OuterRef(f"{prefix}_id"), group__name=settings.IT_STAFF_GROUP)
    return ExpressionWrapper(Q(**{f"{prefix}__is_superuser": True}) | Q(Exists(in_group)), output_field=BooleanField())


BANNER_LIMIT = 5


def known_issue_of(ticket: Ticket) -> KnownIssue | None:
    try:
        return ticket.known_issue
    except KnownIssue.DoesNotExist:
        return None


def is_affected_only(ticket: Ticket, user) -> bool:
    """For a ticket ``user`` may see (``visible_to``): do they see it only because they are affected
    (neither IT staff nor its requester)? Then its public timeline, nothing else."""
    return not ticket.may_be_written_on_by(user)


def banners(user, node: ProblemSource | None = None) -> list[KnownIssue]:
    """Open known issues for ``node``'s subtree (all of them without a node), each with
    ``affected_count`` and ``affected`` (this person already said so) and ``own`` (they filed it)."""
    issues = KnownIssue.objects.current().covering(node).for_banner()
    issues = issues.annotate(affected=Exists(AffectedPerson.objects.filter(ticket=OuterRef("ticket"), user=user)))
    result = list(issues.select_related(None).select_related("problem_source", "ticket")[:BANNER_LIMIT])
    for issue in result:
        issue.own = issue.ticket.requester_id == user.pk
    return result


def me_too_counts(*, start=None, end=None) -> dict[int, int]:
    """How many people said "Affects me too" (or were attached as duplicates) per problem source of
    the tickets, within ``start`` <= added < ``end`` when given: the seam for the analysis page's
    "me too" figure per node (add a node's subtree up as it does for its other counts)."""
    from django.db.models import Count

    rows = AffectedPerson.objects.filter(how__in=[How.ME_TOO, How.DUPLICATE])
    if start is not None:
        rows = rows.filter(added_at__gte=start)
    if end is not None:
        rows = rows.filter(added_at__lt=end)
    return dict(rows.values_list("ticket__problem_source_id").annotate(n=Count("pk")).order_by())
