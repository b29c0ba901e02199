"""The agent sidebar's one query, compiled once per process, gives exactly the ORM's rows for everyone."""

import pytest
from django.test import RequestFactory

from tickets import services
from tickets.models import ProblemSource, SavedTicketFilter, Team
from tickets.sidebar import _rows, _union, agent_sidebar


@pytest.fixture
def setup(tree, employee, agent, second_agent):
    workplace = Team.objects.create(name="Workplace")
    workplace.members.set([agent])
    network = Team.objects.create(name="Network")
    network.members.set([second_agent])
    Team.objects.create(name="Retired", is_active=False)
    ProblemSource.objects.filter(pk=tree["paper_jam"].pk).update(team=workplace)
    for title in ("a", "b"):
        services.ticket_create(requester=employee, problem_source=tree["paper_jam"], title=title, description="d")
    SavedTicketFilter.objects.create(owner=agent, name="Mine", query="status=open")
    SavedTicketFilter.objects.create(owner=second_agent, name="Theirs, private", query="status=new")
    SavedTicketFilter.objects.create(owner=second_agent, name="Theirs, shared", query="q=vpn", is_shared=True)
    return workplace, network


@pytest.mark.parametrize("limit", [15, 1])
def test_the_compiled_query_gives_the_orms_rows_for_each_agent(setup, agent, second_agent, limit):
    for person in (agent, second_agent, agent):  # the second call for agent reuses the compiled SQL
        expected = sorted(map(tuple, _union(person.pk, limit)), key=repr)
        got = sorted((row[0], *row[1:4], bool(row[4]), *row[5:]) for row in _rows(person.pk, limit))
        expected = sorted((row[0], *row[1:4], bool(row[4]), *row[5:]) for row in expected)
        assert got == expected


def test_each_agent_sees_own_and_shared_lists_and_every_active_team_with_open_counts(setup, agent, second_agent):
    sidebar = agent_sidebar(request_of(agent))

    assert [saved.name for saved in sidebar.lists] == ["Mine", "Theirs, shared"]
    assert [(team.name, team.open_count, team.is_member) for team in sidebar.teams] == [
        ("Network", 0, False),
        ("Workplace", 2, True),
    ]
    other = agent_sidebar(request_of(second_agent))
    assert [saved.name for saved in other.lists] == ["Theirs, private", "Theirs, shared"]
    assert [team.name for team in other.my_teams] == ["Network"]


def test_employees_get_an_empty_sidebar(setup, employee):
    sidebar = agent_sidebar(request_of(employee))
    assert (sidebar.lists, sidebar.teams) == ([], [])


def request_of(user):
    request = RequestFactory().get("/")
    request.user = user
    return request


def test_more_than_the_limit_says_so(setup, agent):
    for number in range(3):
        SavedTicketFilter.objects.create(owner=agent, name=f"List {number}", query="")
    sidebar = agent_sidebar(request_of(agent), limit=2)
    assert len(sidebar.lists) == 2 and sidebar.more
