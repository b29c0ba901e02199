"""IT teams and routing: which team owns a new ticket and which team member becomes responsible.

Every problem-source node may name an owning team and an assignment rule; a node that leaves one
empty inherits it from the nearest ancestor that sets it (inactive teams count as not set). The
effective values are read with correlated subqueries over the MPTT range, so one query answers them
for one node or for a whole admin page of nodes.

Automatic assignment is fair under concurrency: the team's row is its round-robin cursor and is locked
(``select_for_update``) while the next member is chosen, so two tickets filed at the same moment wait
for each other instead of both going to the same person. Absent members (``User.absent_from`` …
``absent_until``) are skipped; when every member is absent the ticket stays unassigned in the team's
queue.

Moving a node changes the effective team of its subtree for new tickets only: existing tickets keep
their team until an agent hands them to another one (:func:`ticket_set_team`).
"""

from collections import defaultdict
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.backends import users_with_roles
from tickets.models import AssignmentRule, ProblemSource, Team, Ticket, TicketEvent

Kind = TicketEvent.Kind


# --- The effective team and rule of a node ----------------------------------------------------------


def _nearest_setting() -> QuerySet:
    """The node in OuterRef and its ancestors, nearest first."""
    return ProblemSource.objects.filter(
        tree_id=OuterRef("tree_id"), lft__lte=OuterRef("lft"), rght__gte=OuterRef("rght")
    ).order_by("-lft")


def _team_setters() -> QuerySet:
    return _nearest_setting().filter(team__is_active=True)  # implies a team is set


def _rule_setters() -> QuerySet:
    return _nearest_setting().exclude(assignment_rule="")


def with_effective_routing(nodes: QuerySet) -> QuerySet:
    """Annotate ``effective_team_id`` and ``effective_rule`` ("" when no node above sets one)."""
    return nodes.annotate(
        effective_team_id=Subquery(_team_setters().values("team_id")[:1]),
        effective_rule=Coalesce(Subquery(_rule_setters().values("assignment_rule")[:1]), Value("")),
    )


def with_routing_origin(nodes: QuerySet) -> QuerySet:
    """:func:`with_effective_routing` plus the team's name and the nodes that set each value (for the admin)."""
    teams, rules = _team_setters(), _rule_setters()
    return with_effective_routing(nodes).annotate(
        effective_team_name=Subquery(teams.values("team__name")[:1]),
        team_from_id=Subquery(teams.values("pk")[:1]),
        team_from_en=Subquery(teams.values("name_en")[:1]),
        team_from_de=Subquery(teams.values("name_de")[:1]),
        rule_from_id=Subquery(rules.values("pk")[:1]),
        rule_from_en=Subquery(rules.values("name_en")[:1]),
        rule_from_de=Subquery(rules.values("name_de")[:1]),
    )


def effective_routing(node: ProblemSource) -> tuple[int | None, str]:
    """(team id or None, assignment rule) for new tickets on ``node``: read from the node when it was
    loaded :func:`with_effective_routing` (the ticket form does), else in one query."""
    if hasattr(node, "effective_team_id") and hasattr(node, "effective_rule"):
        return node.effective_team_id, node.effective_rule or AssignmentRule.NONE
    team_id, rule = (
        with_effective_routing(ProblemSource.objects.filter(pk=node.pk))
        .values_list("effective_team_id", "effective_rule")
        .get()
    )
    return team_id, rule or AssignmentRule.NONE


# --- Team members -----------------------------------------------------------------------------------


def _present_staff(day=None) -> QuerySet:
    """Active IT staff who are not absent on ``day`` (today), with their role loaded."""
    day = day or timezone.localdate()
    return (
        users_with_roles()
        .filter(is_active=True)
        .filter(Q(in_it_staff_group=True) | Q(is_superuser=True))
        .exclude(absent_from__lte=day, absent_until__gte=day)
    )


def present_members(team_id: int, *, day=None) -> QuerySet:
    """Active IT staff in the team who are not absent on ``day`` (today), with their role loaded."""
    return _present_staff(day).filter(it_teams=team_id).order_by("pk")


def present_members_by_team(team_ids, *, day=None) -> dict[int, list]:
    """The present members of each of these teams on ``day`` (today), in one query (for jobs that
    tell many teams)."""
    if not team_ids:
        return {}
    members: dict[int, list] = {}
    for user in _present_staff(day).filter(it_teams__in=team_ids).annotate(member_of=F("it_teams")).order_by("pk"):
        members.setdefault(user.member_of, []).append(user)
    return members


def team_members_to_notify(ticket: Ticket) -> list:
    """Whom to tell about a ticket of a team (handed over, unassigned and due soon …): the present
    members of the ticket's team, in one query; [] for a ticket without a team."""
    if ticket.team_id is None:
        return []
    return list(present_members(ticket.team_id))


# --- Automatic assignment ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Routing:
    team_id: int | None
    assignee: object | None  # a User


def choose_assignee(team: Team, rule: str):
    """The member the rule picks; None for rule "none" or when every member is absent. ``team`` must
    be locked by the caller's transaction (its row is the cursor), as :func:`route_new_ticket` does."""
    if rule not in (AssignmentRule.ROUND_ROBIN, AssignmentRule.FEWEST_OPEN):
        return None
    members = present_members(team.pk)
    if rule == AssignmentRule.FEWEST_OPEN:
        open_tickets = (
            Ticket.objects.open()
            .filter(assignee=OuterRef("pk"))
            .order_by()
            .values("assignee")
            .annotate(n=Count("pk"))
            .values("n")
        )
        members = members.annotate(open_count=Coalesce(Subquery(open_tickets), 0))
    candidates = list(members)
    if not candidates:
        return None
    if rule == AssignmentRule.ROUND_ROBIN:
        after = team.last_assigned_id or 0
        chosen = next((member for member in candidates if member.pk > after), candidates[0])
    else:
        # Fewest open tickets; among equals the next one after the cursor, so ties rotate too.
        fewest = min(member.open_count for member in candidates)
        tied = [member for member in candidates if member.open_count == fewest]
        after = team.last_assigned_id or 0
        chosen = next((member for member in tied if member.pk > after), tied[0])
    Team.objects.filter(pk=team.pk).update(last_assigned=chosen)
    return chosen


def route_new_ticket(problem_source: ProblemSource) -> Routing:
    """The team and (by its rule) the responsible member for a ticket about to be filed on this node.
    Call inside the filing transaction: the team's lock is held until the ticket is saved."""
    team_id, rule = effective_routing(problem_source)
    if team_id is None:
        return Routing(team_id=None, assignee=None)
    # The team's row, locked: one picker at a time, and team_retire (which locks it too) either
    # waits for this ticket and moves it, or has retired the team before it is read here.
    team = Team.objects.select_for_update().filter(pk=team_id, is_active=True).first()
    if team is None:  # retired since the node was read
        return Routing(team_id=None, assignee=None)
    return Routing(team_id=team.pk, assignee=choose_assignee(team, rule))


def routing_events(ticket: Ticket, routing: Routing, *, at) -> list[TicketEvent]:
    """The events of a new ticket's routing, by the system: its team (internal) and its assignee."""
    events = []
    if routing.team_id is not None:
        events.append(
            TicketEvent(ticket=ticket, kind=Kind.TEAM, new_value=str(routing.team_id), is_internal=True, created_at=at)
        )
    if routing.assignee is not None:
        events.append(
            TicketEvent(ticket=ticket, kind=Kind.ASSIGNMENT, new_value=str(routing.assignee.pk), created_at=at)
        )
    return events


# --- Handing a ticket to another team ---------------------------------------------------------------


@transaction.atomic
def ticket_set_team(*, ticket: Ticket, actor, team: Team | None) -> list[TicketEvent]:
    """An agent hands the ticket to ``team`` (None: no team). The team's present members hear of it;
    an assignee who is no member of the new team is removed, so the ticket waits in its queue."""
    from tickets.services import _event, _lock, _save_change

    if not actor.is_agent:
        raise PermissionDenied("Only IT staff hand tickets to a team.")
    if team is not None:
        # The team's row first (as filing and team_retire lock it): a team retired meanwhile is refused,
        # never left holding a ticket no queue shows.
        team = Team.objects.select_for_update().filter(pk=team.pk, is_active=True).first()
        if team is None:
            raise ValidationError(_("That team no longer takes tickets. Please choose another one."))
    ticket = _lock(ticket)
    new_id = team.pk if team is not None else None
    if new_id == ticket.team_id:
        return []
    now = timezone.now()
    events = [_event(ticket, actor, Kind.TEAM, old=ticket.team_id, new=new_id, is_internal=True, at=now)]
    ticket.team = team
    if ticket.assignee_id and (team is None or not team.members.filter(pk=ticket.assignee_id).exists()):
        events.append(_event(ticket, actor, Kind.ASSIGNMENT, old=ticket.assignee_id, new=None, at=now))
        ticket.assignee = None
    _save_change(ticket, events, now)
    return events


# --- Never lose tickets -----------------------------------------------------------------------------


@transaction.atomic
def team_retire(*, team: Team, actor=None, delete: bool = False) -> int:
    """Deactivate (or delete) a team without losing its tickets: each goes to the team of its node's
    tree root, with an internal event; to no team when the root has none (or it is this one).

    A bounded number of queries however many tickets. Returns how many tickets were re-routed.
    """
    team = Team.objects.select_for_update().get(pk=team.pk)
    rows = list(
        Ticket.objects.select_for_update(of=("self",)).filter(team=team).values_list("pk", "problem_source__tree_id")
    )
    root_teams = dict(
        ProblemSource.objects.filter(
            parent__isnull=True, tree_id__in={tree_id for _pk, tree_id in rows}, team__is_active=True
        )
        .exclude(team=team)
        .values_list("tree_id", "team_id")
    )
    by_target = defaultdict(list)
    for pk, tree_id in rows:
        by_target[root_teams.get(tree_id)].append(pk)
    now = timezone.now()
    events = []
    for target, pks in by_target.items():
        Ticket.objects.filter(pk__in=pks).update(team_id=target, updated_at=now)
        events += [
            TicketEvent(
                ticket_id=pk,
                actor=actor,
                kind=Kind.TEAM,
                old_value=str(team.pk),
                new_value="" if target is None else str(target),
                is_internal=True,
                created_at=now,
            )
            for pk in pks
        ]
    TicketEvent.objects.bulk_create(events, batch_size=1000)
    if delete:
        team.delete()  # nodes that named it inherit from their parents again (SET_NULL)
    elif team.is_active:
        team.is_active = False
        team.save(update_fields=["is_active"])
    return len(rows)
