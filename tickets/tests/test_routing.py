"""IT teams and routing: inherited team and rule, automatic assignment, absence, hand-over, retiring teams."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conftest import make_user
from teams_app.models import Notification
from tickets import problem_sources, routing, services
from tickets.models import AssignmentRule, ProblemSource, Team, Ticket, TicketEvent

Kind = TicketEvent.Kind


def set_routing(node, *, team=None, rule=""):
    ProblemSource.objects.filter(pk=node.pk).update(team=team, assignment_rule=rule)


def file(requester, node, title="Help"):
    return services.ticket_create(requester=requester, problem_source=node, title=title, description="d")


@pytest.fixture
def members(db):
    return [make_user(name, agent=True) for name in ("mia", "noah", "olga")]


@pytest.fixture
def workplace(members):
    team = Team.objects.create(name="Workplace")
    team.members.set(members)
    return team


@pytest.fixture
def network(agent):
    team = Team.objects.create(name="Network & Access")
    team.members.set([agent])
    return team


# --- The effective team and rule ------------------------------------------------------------------


def test_children_inherit_team_and_rule_from_the_nearest_node_that_sets_them(tree, workplace, network):
    set_routing(tree["hardware"], team=workplace, rule=AssignmentRule.ROUND_ROBIN)
    set_routing(tree["printer"], team=network)

    assert routing.effective_routing(tree["paper_jam"]) == (network.pk, AssignmentRule.ROUND_ROBIN)
    assert routing.effective_routing(tree["battery"]) == (workplace.pk, AssignmentRule.ROUND_ROBIN)
    assert routing.effective_routing(tree["software"]) == (None, AssignmentRule.NONE)


def test_an_inactive_team_counts_as_not_set(tree, workplace, network):
    set_routing(tree["hardware"], team=workplace)
    set_routing(tree["printer"], team=network)
    Team.objects.filter(pk=network.pk).update(is_active=False)

    assert routing.effective_routing(tree["paper_jam"])[0] == workplace.pk


def test_the_effective_values_of_every_node_and_their_origin_come_in_one_query(tree, workplace):
    set_routing(tree["hardware"], team=workplace, rule=AssignmentRule.FEWEST_OPEN)
    set_routing(tree["laptop"], rule=AssignmentRule.NONE)

    with CaptureQueriesContext(connection) as captured:
        nodes = {node.pk: node for node in routing.with_routing_origin(ProblemSource.objects.all())}

    assert len(captured) == 1
    battery = nodes[tree["battery"].pk]
    assert (battery.effective_team_name, battery.team_from_en) == ("Workplace", "Hardware")
    assert (battery.effective_rule, battery.rule_from_en) == (AssignmentRule.NONE, "Laptop")
    assert nodes[tree["software"].pk].effective_team_id is None


def test_moving_a_node_routes_new_tickets_of_its_subtree_to_the_new_team_and_keeps_old_ones(
    tree, employee, workplace, network
):
    set_routing(tree["hardware"], team=workplace)
    set_routing(tree["software"], team=network)
    before = file(employee, tree["toner"])

    problem_sources.problem_source_move(node=tree["printer"], target=tree["software"])
    after = file(employee, ProblemSource.objects.get(pk=tree["toner"].pk))

    assert after.team == network
    before.refresh_from_db()
    assert before.team == workplace


# --- Automatic assignment -------------------------------------------------------------------------


def test_a_new_ticket_gets_the_nodes_team_and_waits_in_its_queue_without_a_rule(tree, employee, workplace):
    set_routing(tree["hardware"], team=workplace)

    ticket = file(employee, tree["paper_jam"])

    assert (ticket.team, ticket.assignee) == (workplace, None)
    team_event = TicketEvent.objects.get(ticket=ticket, kind=Kind.TEAM)
    assert (team_event.actor, team_event.new_value, team_event.is_internal) == (None, str(workplace.pk), True)
    assert not TicketEvent.objects.filter(ticket=ticket, kind=Kind.ASSIGNMENT).exists()


def test_round_robin_takes_the_members_in_turn(tree, employee, workplace, members):
    set_routing(tree["hardware"], team=workplace, rule=AssignmentRule.ROUND_ROBIN)

    assignees = [file(employee, tree["paper_jam"], f"T{n}").assignee for n in range(5)]

    assert assignees == [members[0], members[1], members[2], members[0], members[1]]
    ticket = Ticket.objects.latest("pk")
    event = TicketEvent.objects.get(ticket=ticket, kind=Kind.ASSIGNMENT)
    assert (event.actor, event.new_value, event.is_internal) == (None, str(members[1].pk), False)
    assert Notification.objects.filter(ticket=ticket, recipient=members[1], kind="ticketAssigned").exists()


def test_round_robin_skips_absent_members_and_those_who_left_it_staff(tree, employee, workplace, members):
    set_routing(tree["hardware"], team=workplace, rule=AssignmentRule.ROUND_ROBIN)
    today = timezone.localdate()
    members[1].absent_from, members[1].absent_until = today - timedelta(days=1), today + timedelta(days=2)
    members[1].save()
    members[2].groups.clear()  # no longer IT staff

    assignees = {file(employee, tree["paper_jam"], f"T{n}").assignee for n in range(3)}

    assert assignees == {members[0]}


def test_an_absence_that_ended_yesterday_no_longer_counts(tree, employee, workplace, members):
    set_routing(tree["hardware"], team=workplace, rule=AssignmentRule.ROUND_ROBIN)
    yesterday = timezone.localdate() - timedelta(days=1)
    members[0].absent_from, members[0].absent_until = yesterday - timedelta(days=5), yesterday
    members[0].save()

    assert file(employee, tree["paper_jam"]).assignee == members[0]


def test_when_every_member_is_absent_the_ticket_stays_in_the_team_queue(tree, employee, workplace, members):
    set_routing(tree["hardware"], team=workplace, rule=AssignmentRule.ROUND_ROBIN)
    today = timezone.localdate()
    for member in members:
        member.absent_from = member.absent_until = today
        member.save()

    ticket = file(employee, tree["paper_jam"])

    assert (ticket.team, ticket.assignee) == (workplace, None)


def test_fewest_open_tickets_picks_the_least_busy_member(tree, employee, workplace, members):
    set_routing(tree["hardware"], team=workplace, rule=AssignmentRule.FEWEST_OPEN)
    for member, count in zip(members, (2, 0, 1), strict=True):
        for _number in range(count):
            services.ticket_update(ticket=file(employee, tree["software"]), actor=member, assignee=member)
    done = file(employee, tree["software"])
    services.ticket_update(ticket=done, actor=members[1], assignee=members[1], status=Ticket.Status.CLOSED)

    first = file(employee, tree["paper_jam"]).assignee
    second = file(employee, tree["paper_jam"]).assignee

    assert first == members[1]  # 0 open (a closed one does not count)
    assert second in (members[1], members[2])  # both have 1 open now; the tie rotates
    assert second == members[2]


# --- Handing a ticket to another team -------------------------------------------------------------


def test_an_agent_hands_a_ticket_to_another_team_whose_members_hear_of_it(
    tree, employee, workplace, network, members, agent
):
    set_routing(tree["hardware"], team=workplace, rule=AssignmentRule.ROUND_ROBIN)
    ticket = file(employee, tree["paper_jam"])
    assert ticket.assignee == members[0]

    events = routing.ticket_set_team(ticket=ticket, actor=members[0], team=network)

    ticket.refresh_from_db()
    assert (ticket.team, ticket.assignee) == (network, None)  # members[0] is no member of Network
    assert [(e.kind, e.old_value, e.new_value) for e in events] == [
        (Kind.TEAM, str(workplace.pk), str(network.pk)),
        (Kind.ASSIGNMENT, str(members[0].pk), ""),
    ]
    told = Notification.objects.filter(event=events[0]).values_list("recipient", flat=True)
    assert set(told) == {agent.pk}


def test_only_agents_hand_tickets_to_teams_and_only_to_active_ones(tree, employee, workplace, network, agent):
    ticket = file(employee, tree["paper_jam"])
    with pytest.raises(PermissionDenied):
        routing.ticket_set_team(ticket=ticket, actor=employee, team=network)
    stale = Team.objects.get(pk=network.pk)  # read by the form before the team was retired
    Team.objects.filter(pk=network.pk).update(is_active=False)
    with pytest.raises(ValidationError):  # checked again under the team's row lock
        routing.ticket_set_team(ticket=ticket, actor=agent, team=stale)
    ticket.refresh_from_db()
    assert ticket.team is None


def test_team_members_to_notify_are_the_present_members(tree, employee, workplace, members):
    set_routing(tree["hardware"], team=workplace)
    ticket = file(employee, tree["paper_jam"])
    members[2].absent_from = members[2].absent_until = timezone.localdate()
    members[2].save()

    assert routing.team_members_to_notify(ticket) == members[:2]
    assert routing.team_members_to_notify(file(employee, tree["software"])) == []


# --- Never lose tickets ---------------------------------------------------------------------------


def test_deleting_a_team_moves_its_tickets_to_the_roots_team_with_an_event(tree, employee, workplace, network, admin):
    set_routing(tree["hardware"], team=workplace)
    set_routing(tree["printer"], team=network)
    tickets = [file(employee, tree["paper_jam"]), file(employee, tree["toner"])]
    other = file(employee, tree["battery"])

    moved = routing.team_retire(team=network, actor=admin, delete=True)

    assert moved == 2
    assert not Team.objects.filter(pk=network.pk).exists()
    for ticket in tickets:
        ticket.refresh_from_db()
        assert ticket.team == workplace
        event = TicketEvent.objects.get(ticket=ticket, kind=Kind.TEAM, actor=admin)
        assert (event.old_value, event.new_value, event.is_internal) == (str(network.pk), str(workplace.pk), True)
    other.refresh_from_db()
    assert other.team == workplace
    assert routing.effective_routing(tree["paper_jam"])[0] == workplace.pk  # the node inherits again


def test_deactivating_the_roots_own_team_leaves_its_tickets_without_a_team_but_recorded(tree, employee, workplace):
    set_routing(tree["hardware"], team=workplace)
    ticket = file(employee, tree["paper_jam"])

    assert routing.team_retire(team=workplace) == 1

    ticket.refresh_from_db()
    workplace.refresh_from_db()
    assert (ticket.team, workplace.is_active) == (None, False)
    assert TicketEvent.objects.filter(ticket=ticket, kind=Kind.TEAM, new_value="").exists()
    assert file(employee, tree["paper_jam"]).team is None  # an inactive team gets no new tickets


def test_retiring_a_team_costs_the_same_queries_for_2_or_20_tickets(tree, employee, workplace, network):
    set_routing(tree["hardware"], team=workplace)

    def queries_to_retire(count):
        team = Team.objects.create(name=f"Temp {count}")
        set_routing(tree["printer"], team=team)
        for number in range(count):
            file(employee, tree["paper_jam"], f"T{number}")
        with CaptureQueriesContext(connection) as captured:
            routing.team_retire(team=team, delete=True)
        return len(captured)

    assert queries_to_retire(2) == queries_to_retire(20)


def test_the_timeline_names_the_teams(client, tree, employee, workplace, network, agent):
    set_routing(tree["hardware"], team=workplace)
    ticket = file(employee, tree["paper_jam"])
    routing.ticket_set_team(ticket=ticket, actor=agent, team=network)
    client.force_login(agent)

    page = client.get(ticket.get_absolute_url()).content.decode()

    assert "handed the ticket to the team <strong>Network &amp; Access</strong>" in page
    assert "handed the ticket to the team <strong>Workplace</strong>" in page
    client.force_login(employee)
    assert "handed the ticket" not in client.get(ticket.get_absolute_url()).content.decode()


def test_a_team_retired_after_the_form_read_the_node_leaves_the_ticket_without_a_team(tree, employee, workplace):
    set_routing(tree["hardware"], team=workplace, rule=AssignmentRule.ROUND_ROBIN)
    node = routing.with_effective_routing(ProblemSource.objects.filter(pk=tree["paper_jam"].pk)).get()
    routing.team_retire(team=workplace, delete=True)

    ticket = file(employee, node)

    assert (ticket.team, ticket.assignee) == (None, None)
    assert not TicketEvent.objects.filter(ticket=ticket, kind=Kind.TEAM).exists()
