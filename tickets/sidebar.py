"""What an agent's sidebar lists: their saved ticket lists and the IT teams' queues, in ONE query.

Every page an agent opens shows them, and the pages' query budgets are pinned
(tickets/tests/test_query_counts.py): so the saved lists and the active teams with their open-ticket
counts come as one UNION, read at most once per request. The ticket list's team filter and the
detail page's hand-over choice reuse the same rows.
"""

from dataclasses import dataclass, field
from functools import lru_cache

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
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


def _union(user_id: int, limit: int) -> QuerySet:
    """The agent's first saved lists (own and shared) and every active team with its open tickets."""
    first_lists = (
        SavedTicketFilter.objects.filter(Q(owner_id=user_id) | Q(is_shared=True))
        .order_by("name", "pk")
        .values("pk")[: limit + 1]
    )
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
    membership = Team.members.through.objects.filter(team_id=OuterRef("pk"), user_id=user_id)
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
    return saved.union(teams, all=True)


# Building that UNION costs ~6 ms of Python on every agent page, its SQL a tenth of that: it is
# compiled once per process and database with a stand-in for the agent's id, which each request
# replaces with its own (tickets/tests/test_sidebar.py compares the rows with the ORM's).
_SOMEONE = -7_356_001


@lru_cache(maxsize=8)
def _compiled(limit: int, alias: str, vendor: str) -> tuple[str, tuple]:
    queryset = _union(_SOMEONE, limit)
    sql, params = queryset.query.get_compiler(using=alias).as_sql()
    return sql, tuple(params)


def _rows(user_id: int, limit: int) -> list[tuple]:
    connection = connections[DEFAULT_DB_ALIAS]
    sql, params = _compiled(limit, DEFAULT_DB_ALIAS, connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(sql, [user_id if value == _SOMEONE else value for value in params])
        return cursor.fetchall()


def _read(user, limit: int) -> AgentSidebar:
    sidebar = AgentSidebar()
    lists = []
    for kind, pk, name, query, flag, owner_id, first, last, username, count in _rows(user.pk, limit):
        if kind == "team":
            sidebar.teams.append(TeamQueue(pk=pk, name=name, open_count=count, is_member=bool(flag)))
        else:
            owner = User(pk=owner_id, first_name=first, last_name=last, username=username)
            lists.append(SavedTicketFilter(pk=pk, name=name, query=query, is_shared=bool(flag), owner=owner))
    lists.sort(key=lambda saved_list: (saved_list.name, saved_list.pk))
    sidebar.lists, sidebar.more = lists[:limit], len(lists) > limit
    sidebar.teams.sort(key=lambda team: team.name.casefold())
    return sidebar


def agent_sidebar(request, limit: int = SIDEBAR_SAVED_LISTS) -> AgentSidebar:
    """The sidebar's rows for the signed-in agent, read once per request."""
    cached = getattr(request, "_agent_sidebar", None)
    if cached is None:
        user = request.user
        # Saved lists and queues are for IT staff only (SavedTicketFilter.objects.visible_to).
        cached = request._agent_sidebar = _read(user, limit) if user.is_agent else AgentSidebar()
    return cached
