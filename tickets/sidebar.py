"""What an agent's sidebar lists: their saved ticket lists and the IT teams' queues, in ONE query.

Every page an agent opens shows them, and the pages' query budgets are pinned
(tickets/tests/test_query_counts.py): so the saved lists and the active teams with their open-ticket
counts come as one UNION, read at most once per request. The ticket list's team filter and the
detail page's hand-over choice reuse the same rows.
"""

from dataclasses import dataclass, field

from django.db.models import Count, Exists, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from accounts.models import User
from tickets.models import SavedTicketFilter, Team, Ticket

SIDEBAR_SAVED_LISTS = 15


@dataclass
class TeamQueue:
    pk: int
    name: str
    open_count: int
    is_member: bool


@dataclass
class AgentSidebar:
    lists: list[SavedTicketFilter] = field(default_factory=list)
    more: bool = False  # more saved lists than the sidebar shows
    teams: list[TeamQueue] = field(default_factory=list)  # every active team, by name

    @property
    def my_teams(self) -> list[TeamQueue]:
        return [team for team in self.teams if team.is_member]

    def team_choices(self) -> list[tuple[int, str]]:
        return [(team.pk, team.name) for team in self.teams]


def _read(user, limit: int) -> AgentSidebar:
    first_lists = SavedTicketFilter.objects.visible_to(user).order_by("name", "pk").values("pk")[: limit + 1]
    saved = (
        SavedTicketFilter.objects.filter(pk__in=first_lists)
        .order_by()
        .values_list(
            Value("saved"),
            "pk",
            "name",
            "query",
            "is_shared",
            "owner_id",
            "owner__first_name",
            "owner__last_name",
            "owner__username",
            Value(0),
        )
    )
    # COUNT(1) of open tickets per team: the partial index ticket_open_team alone answers it.
    open_tickets = (
        Ticket.objects.open().filter(team=OuterRef("pk")).order_by().values("team").annotate(n=Count(Value(1)))
    )
    membership = Team.members.through.objects.filter(team_id=OuterRef("pk"), user_id=user.pk)
    teams = (
        Team.objects.filter(is_active=True)
        .order_by()
        .values_list(
            Value("team"),
            "pk",
            "name",
            Value(""),
            Exists(membership),
            Value(None, output_field=IntegerField()),
            Value(""),
            Value(""),
            Value(""),
            Coalesce(Subquery(open_tickets.values("n")), 0),
        )
    )
    sidebar = AgentSidebar()
    lists = []
    for kind, pk, name, query, flag, owner_id, first, last, username, count in saved.union(teams, all=True):
        if kind == "team":
            sidebar.teams.append(TeamQueue(pk=pk, name=name, open_count=count, is_member=bool(flag)))
        else:
            owner = User(pk=owner_id, first_name=first, last_name=last, username=username)
            lists.append(SavedTicketFilter(pk=pk, name=name, query=query, is_shared=flag, owner=owner))
    lists.sort(key=lambda saved_list: (saved_list.name, saved_list.pk))
    sidebar.lists, sidebar.more = lists[:limit], len(lists) > limit
    sidebar.teams.sort(key=lambda team: team.name.casefold())
    return sidebar


def agent_sidebar(request, limit: int = SIDEBAR_SAVED_LISTS) -> AgentSidebar:
    """The sidebar's rows for the signed-in agent, read once per request."""
    cached = getattr(request, "_agent_sidebar", None)
    if cached is None:
        cached = request._agent_sidebar = _read(request.user, limit)
    return cached
