"""IT teams on the pages: sidebar queues, list filter and column, detail hand-over, absence, admin."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from tickets import routing, services
from tickets.models import AssignmentRule, ProblemSource, SavedTicketFilter, Team, Ticket, TicketEvent

Kind = TicketEvent.Kind


def file(requester, node, title="Help"):
    return services.ticket_create(requester=requester, problem_source=node, title=title, description="d")


@pytest.fixture
def teams(tree, agent, second_agent):
    workplace = Team.objects.create(name="Workplace")
    workplace.members.set([agent, second_agent])
    network = Team.objects.create(name="Network & Access")
    network.members.set([second_agent])
    ProblemSource.objects.filter(pk=tree["hardware"].pk).update(team=workplace)
    ProblemSource.objects.filter(pk=tree["software"].pk).update(team=network)
    return {"workplace": workplace, "network": network}


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


# --- Sidebar --------------------------------------------------------------------------------------


def test_the_sidebar_shows_my_teams_with_their_open_tickets(client, tree, employee, agent, teams):
    file(employee, tree["paper_jam"])
    file(employee, tree["toner"])
    done = file(employee, tree["battery"])
    Ticket.objects.filter(pk=done.pk).update(status=Ticket.Status.CLOSED)
    file(employee, tree["software"])  # Network & Access: anna is no member
    client.force_login(agent)

    sidebar = client.get(reverse("dashboard")).context["request"]._agent_sidebar

    assert [(team.name, team.open_count) for team in sidebar.my_teams] == [("Workplace", 2)]
    html = client.get(reverse("dashboard")).content.decode()
    section = html.split("My teams", 1)[1].split("Saved lists", 1)[0]
    assert f"?status=open&amp;team={teams['workplace'].pk}" in section
    assert "Network" not in section


def test_employees_see_no_team_queues(client, tree, employee, teams):
    file(employee, tree["paper_jam"])
    client.force_login(employee)

    html = client.get(reverse("dashboard")).content.decode()

    assert "My teams" not in html


# --- The ticket list ------------------------------------------------------------------------------


def test_the_list_filters_by_team_and_shows_the_team(client, tree, employee, agent, teams):
    printer = file(employee, tree["paper_jam"], "Printer")
    excel = file(employee, tree["software"], "Excel")
    Ticket.objects.filter(pk=excel.pk).update(team=None)
    network = file(employee, tree["software"], "VPN")
    client.force_login(agent)

    def titles(team):
        page = client.get(reverse("tickets:list"), {"team": team}).context["page"]
        return {row.title for row in page.object_list}

    assert titles(teams["workplace"].pk) == {"Printer"}
    assert titles("mine") == {"Printer"}
    assert titles("none") == {"Excel"}
    assert titles("") == {"Printer", "Excel", "VPN"}
    rows = {row.title: row.team for row in client.get(reverse("tickets:list")).context["page"].object_list}
    assert rows == {"Printer": "Workplace", "Excel": "", "VPN": "Network & Access"}
    assert printer.team_id and network.team_id


def test_an_unknown_team_in_the_url_is_reported_and_ignored(client, tree, employee, agent, teams):
    file(employee, tree["paper_jam"])
    client.force_login(agent)

    response = client.get(reverse("tickets:list"), {"team": "999999"})

    assert response.status_code == 200
    assert response.context["form"].errors["team"]
    assert len(response.context["page"].object_list) == 1


def test_a_team_filter_can_be_saved_as_a_list(client, agent, teams):
    client.force_login(agent)

    client.post(reverse("tickets:saved_create"), {"name": "Workplace open", "query": "status=open&team=mine"})

    assert SavedTicketFilter.objects.get().query == "status=open&team=mine"


def test_employees_cannot_filter_by_team(client, tree, employee, teams):
    file(employee, tree["paper_jam"], "Mine")
    client.force_login(employee)

    response = client.get(reverse("tickets:list"), {"team": "none"})

    assert [row.title for row in response.context["page"].object_list] == ["Mine"]
    assert "team" not in response.context["form"].fields


# --- The detail page ------------------------------------------------------------------------------


def test_an_agent_hands_a_ticket_to_another_team_from_the_detail_page(client, tree, employee, agent, teams):
    ticket = file(employee, tree["paper_jam"])
    client.force_login(agent)
    page = client.get(ticket.get_absolute_url()).content.decode()
    assert "Workplace" in page and "Hand to another team" in page

    response = client.post(reverse("tickets:set_team", args=[ticket.pk]), {"team": teams["network"].pk})

    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.team == teams["network"]
    assert messages_of(response) == ["The ticket went to the team Network & Access."]
    assert TicketEvent.objects.filter(ticket=ticket, kind=Kind.TEAM, actor=agent).exists()


def test_handing_to_an_inactive_team_changes_nothing_and_says_why(client, tree, employee, agent, teams):
    ticket = file(employee, tree["paper_jam"])
    Team.objects.filter(pk=teams["network"].pk).update(is_active=False)
    client.force_login(agent)

    response = client.post(reverse("tickets:set_team", args=[ticket.pk]), {"team": teams["network"].pk})

    assert response.status_code == 400
    ticket.refresh_from_db()
    assert ticket.team == teams["workplace"]


def test_employees_cannot_hand_tickets_to_teams_nor_see_the_team(client, tree, employee, teams):
    ticket = file(employee, tree["paper_jam"])
    client.force_login(employee)

    assert "Hand to another team" not in client.get(ticket.get_absolute_url()).content.decode()
    response = client.post(reverse("tickets:set_team", args=[ticket.pk]), {"team": teams["network"].pk})

    assert response.status_code == 404
    ticket.refresh_from_db()
    assert ticket.team == teams["workplace"]


def test_handing_over_needs_post(client, tree, employee, agent, teams):
    ticket = file(employee, tree["paper_jam"])
    client.force_login(agent)

    assert client.get(reverse("tickets:set_team", args=[ticket.pk])).status_code == 405


# --- Absence on the profile -----------------------------------------------------------------------


def profile_data(user, **changes):
    return {
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "language": "",
        "theme": "auto",
        **changes,
    }


def test_an_agent_marks_themselves_absent_and_gets_no_tickets_meanwhile(
    client, tree, employee, agent, second_agent, teams
):
    ProblemSource.objects.filter(pk=tree["hardware"].pk).update(assignment_rule=AssignmentRule.ROUND_ROBIN)
    today = timezone.localdate()
    client.force_login(agent)

    response = client.post(
        reverse("accounts:profile"),
        profile_data(agent, absent_from=today.isoformat(), absent_until=(today + timedelta(days=3)).isoformat()),
    )

    assert response.status_code == 302
    agent.refresh_from_db()
    assert agent.is_absent_on(today)
    assert {file(employee, tree["paper_jam"], f"T{n}").assignee for n in range(3)} == {second_agent}


@pytest.mark.parametrize(("first", "last"), [("2030-05-10", "2030-05-01"), ("2030-05-10", ""), ("", "2030-05-01")])
def test_an_absence_needs_both_days_in_order(client, agent, first, last):
    client.force_login(agent)

    response = client.post(reverse("accounts:profile"), profile_data(agent, absent_from=first, absent_until=last))

    assert response.status_code == 400
    agent.refresh_from_db()
    assert (agent.absent_from, agent.absent_until) == (None, None)


def test_employees_have_no_absence_fields(client, employee):
    client.force_login(employee)

    client.post(
        reverse("accounts:profile"), profile_data(employee, absent_from="2030-05-01", absent_until="2030-05-02")
    )

    employee.refresh_from_db()
    assert employee.absent_from is None
    assert "absent_from" not in client.get(reverse("accounts:profile")).content.decode()


# --- Admin ----------------------------------------------------------------------------------------


def test_the_admin_shows_each_nodes_effective_team_and_where_it_comes_from(client, admin, tree, teams):
    client.force_login(admin)

    html = client.get(reverse("admin:tickets_problemsource_changelist")).content.decode()
    change = client.get(reverse("admin:tickets_problemsource_change", args=[tree["battery"].pk])).content.decode()

    assert "Workplace (set here)" in html
    assert "Workplace (from Hardware)" in html
    assert "Workplace (from Hardware)" in change


def test_deleting_a_team_in_the_admin_keeps_its_tickets_in_the_roots_team(client, admin, tree, employee, teams):
    ProblemSource.objects.filter(pk=tree["printer"].pk).update(team=teams["network"])
    ticket = file(employee, tree["paper_jam"])
    assert ticket.team == teams["network"]
    client.force_login(admin)

    response = client.post(reverse("admin:tickets_team_delete", args=[teams["network"].pk]), {"post": "yes"})

    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.team == teams["workplace"]
    assert TicketEvent.objects.filter(ticket=ticket, kind=Kind.TEAM, actor=admin).exists()


def test_deactivating_a_team_in_the_admin_moves_its_tickets(client, admin, tree, employee, agent, teams):
    ProblemSource.objects.filter(pk=tree["printer"].pk).update(team=teams["network"])
    ticket = file(employee, tree["paper_jam"])
    client.force_login(admin)
    url = reverse("admin:tickets_team_change", args=[teams["network"].pk])

    response = client.post(url, {"name": "Network & Access", "members": [agent.pk]})  # "active" unticked

    assert response.status_code == 302
    ticket.refresh_from_db()
    teams["network"].refresh_from_db()
    assert (ticket.team, teams["network"].is_active) == (teams["workplace"], False)
    assert list(teams["network"].members.all()) == [agent]


def test_only_it_staff_can_be_team_members_in_the_admin(client, admin, employee, teams):
    client.force_login(admin)

    response = client.post(
        reverse("admin:tickets_team_change", args=[teams["network"].pk]),
        {"name": "Network & Access", "members": [employee.pk], "is_active": "on"},
    )

    assert response.status_code == 200  # the form again, with the error
    assert not teams["network"].members.filter(pk=employee.pk).exists()


def test_retired_teams_in_old_events_still_read_well(client, tree, employee, agent, teams):
    ticket = file(employee, tree["software"])
    routing.team_retire(team=teams["network"], delete=True)
    client.force_login(agent)

    html = client.get(ticket.get_absolute_url()).content.decode()

    assert "handed the ticket to the team <strong>a deleted team</strong>" in html


# --- Query budgets --------------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["tickets:list", "tickets:detail", "dashboard"])
def test_teams_and_routed_tickets_cost_the_agents_pages_no_extra_query(client, tree, employee, agent, page):
    from tickets.tests.test_query_counts import queries_for

    ticket = file(employee, tree["paper_jam"])
    services.ticket_take(ticket=ticket, agent=agent)  # assignment events, as routing writes them
    url = reverse(page, args=[ticket.pk]) if page == "tickets:detail" else reverse(page)
    client.force_login(agent)
    without_teams = queries_for(client, url)
    workplace = Team.objects.create(name="Workplace")
    workplace.members.set([agent])
    network = Team.objects.create(name="Network & Access")
    ProblemSource.objects.filter(pk=tree["hardware"].pk).update(team=workplace, assignment_rule="round_robin")
    routing.ticket_set_team(ticket=ticket, actor=agent, team=network)
    for number in range(5):
        file(employee, tree["toner"], f"Routed {number}")

    assert queries_for(client, url) == without_teams
