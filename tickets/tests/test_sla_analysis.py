"""The analysis page's service-level figures and their links to the list."""

import time_machine
from django.urls import reverse

from tickets import services
from tickets.models import ProblemSource, Team, Ticket
from tickets.tests.sla_helpers import berlin, set_policy, standard_policy

MARCH = {"period": "custom", "start": "2026-03-01", "end": "2026-03-31"}


def at(moment, action):
    with time_machine.travel(moment, tick=False):
        return action()


def test_sla_figures_per_node_link_to_the_matching_tickets(client, tree, employee, agent):
    node = set_policy(tree["paper_jam"], standard_policy())  # first response 4 h, resolution 16 h
    names = ("in time", "late", "unanswered", "no policy")
    tickets = {}
    for name in names:
        source = tree["software"] if name == "no policy" else node
        tickets[name] = at(
            berlin(2026, 3, 2, 9, 0),
            lambda source=source, name=name: services.ticket_create(
                requester=employee, problem_source=source, title=name, description="d"
            ),
        )
    at(berlin(2026, 3, 2, 10, 0), lambda: services.ticket_comment(ticket=tickets["in time"], author=agent, body="a"))
    at(berlin(2026, 3, 2, 15, 0), lambda: services.ticket_comment(ticket=tickets["late"], author=agent, body="b"))
    at(
        berlin(2026, 3, 3, 9, 0),
        lambda: services.ticket_update(ticket=tickets["in time"], actor=agent, status="resolved"),
    )
    at(berlin(2026, 3, 5, 9, 0), lambda: services.ticket_update(ticket=tickets["late"], actor=agent, status="resolved"))
    client.force_login(agent)

    with time_machine.travel(berlin(2026, 4, 1, 12, 0), tick=False):
        response = client.get(reverse("tickets:analysis"), MARCH)
        total = response.context["sla_rows"][0]
        assert (total["figures"].responses, total["figures"].responses_met) == (3, 1)  # the unanswered one is late
        assert (total["figures"].resolutions, total["figures"].resolutions_met) == (2, 1)
        # Left at resolution: +7 h (due Tue 16:00, resolved 9:00) and -11 h (resolved Thu 9:00): median -2 h.
        assert total["median_left"] == "−2 h"
        hardware = next(item for item in response.context["sla_rows"] if item["row"].node == tree["hardware"])
        assert hardware["figures"].responses == 3
        late = client.get(total["links"]["response_missed"]).context["page"].object_list
        in_time = client.get(total["links"]["resolution_met"]).context["page"].object_list

    assert sorted(row.title for row in late) == ["late", "unanswered"]
    assert [row.title for row in in_time] == ["in time"]
    assert "Service levels" in response.content.decode()


def test_breaches_per_it_team_link_to_the_teams_late_tickets(client, tree, employee, agent):
    node = set_policy(tree["paper_jam"], standard_policy())  # first response 4 h
    workplace = Team.objects.create(name="Workplace")
    ProblemSource.objects.filter(pk=node.pk).update(team=workplace)
    filed = {}
    for name in ("late", "unanswered", "in time"):
        filed[name] = at(
            berlin(2026, 3, 2, 9, 0),
            lambda name=name: services.ticket_create(
                requester=employee, problem_source=node, title=name, description="d"
            ),
        )
    Ticket.objects.filter(pk=filed["unanswered"].pk).update(team=None)  # taken out of the team
    at(berlin(2026, 3, 2, 10, 0), lambda: services.ticket_comment(ticket=filed["in time"], author=agent, body="a"))
    at(berlin(2026, 3, 2, 15, 0), lambda: services.ticket_comment(ticket=filed["late"], author=agent, body="b"))
    client.force_login(agent)

    with time_machine.travel(berlin(2026, 4, 1, 12, 0), tick=False):
        response = client.get(reverse("tickets:analysis"), MARCH)
        rows = response.context["team_breaches"]
        assert [(row.name, row.responses_missed, row.resolutions_missed) for row in rows] == [
            ("", 1, 0),
            ("Workplace", 1, 0),
        ]
        listed = client.get(rows[1].response_url).context["page"].object_list
    assert [row.title for row in listed] == ["late"]
    assert "Breaches per IT team" in response.content.decode()


def test_no_sla_card_without_tickets_under_a_service_level(client, tree, employee, agent):
    services.ticket_create(requester=employee, problem_source=tree["software"], title="x", description="d")
    client.force_login(agent)
    response = client.get(reverse("tickets:analysis"))
    assert response.context["sla_rows"] == []
    assert Ticket.objects.count() == 1
