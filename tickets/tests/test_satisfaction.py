"""Satisfaction per problem source and per agent, and deflections per problem source."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from conftest import make_user
from tickets import ratings, self_help, services
from tickets.analysis import Period
from tickets.models import Team, Ticket, TicketRating
from tickets.satisfaction import satisfaction

Status = Ticket.Status


def rated(requester, node, agent, *, up: bool) -> Ticket:
    ticket = services.ticket_create(requester=requester, problem_source=node, title="t", description="d")
    if agent is not None:
        services.ticket_take(ticket=ticket, agent=agent)
    services.ticket_update(
        ticket=ticket, actor=agent or make_user(f"helper{ticket.pk}", agent=True), status=Status.RESOLVED
    )
    ratings.ticket_rate(ticket=ticket, user=requester, is_positive=up)
    return ticket


@pytest.fixture
def figures(employee, agent, second_agent, tree):
    rated(employee, tree["paper_jam"], agent, up=True)
    rated(employee, tree["paper_jam"], agent, up=True)
    rated(employee, tree["paper_jam"], second_agent, up=False)
    rated(employee, tree["software"], agent, up=False)
    old = rated(employee, tree["software"], second_agent, up=True)
    TicketRating.objects.filter(ticket=old).update(created_at=timezone.now() - timedelta(days=60))
    self_help.deflection_count(node=tree["toner"])
    self_help.deflection_count(node=tree["toner"])
    self_help.deflection_count(node=tree["paper_jam"])
    self_help.deflection_count(node=tree["paper_jam"], day=timezone.localdate() - timedelta(days=60))


def this_month() -> Period:
    today = timezone.localdate()
    return Period(today - timedelta(days=29), today)


def test_shares_per_node_and_agent_count_the_ratings_of_the_period(figures, tree, agent, second_agent):
    result = satisfaction(this_month())

    assert (result.total.ratings, result.total.positive) == (4, 2)
    nodes = {row.key: (row.ratings, row.positive) for row in result.by_node}
    assert nodes == {tree["paper_jam"].pk: (3, 2), tree["software"].pk: (1, 0)}
    agents = {row.key: (row.ratings, row.positive, row.share) for row in result.by_agent}
    assert agents == {agent.pk: (3, 2, 2 / 3), second_agent.pk: (1, 0, 0.0)}
    assert {row.key: row.solved for row in result.deflections} == {tree["toner"].pk: 2, tree["paper_jam"].pk: 1}
    assert result.deflected == 3


def test_the_page_links_each_figure_to_its_list(client, agent, second_agent, tree, figures):
    client.force_login(agent)
    response = client.get(reverse("tickets:satisfaction"), {"period": "30"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "Hardware › Printer › Paper jam" in html
    assert f"source={tree['paper_jam'].pk}&amp;filed_on=exact" in html
    assert f"assignee={second_agent.pk}" in html
    assert reverse("tickets:self_help_edit", args=[tree["toner"].pk]) in html
    assert "67 %" in html  # agent: 2 of 3
    node_row = response.context["result"].by_node[0]
    listed = client.get(node_row.url)
    assert listed.status_code == 200
    assert {t.pk for t in listed.context["page"].object_list} <= set(
        Ticket.objects.filter(problem_source_id=node_row.key).values_list("pk", flat=True)
    )


def test_satisfaction_per_it_team_links_to_the_teams_list(client, agent, second_agent, tree, figures):
    team = Team.objects.create(name="Workplace")
    Ticket.objects.filter(assignee=agent).update(team=team)  # agent's three rated tickets of the period

    result = satisfaction(this_month())
    assert [(row.label, row.ratings, row.positive) for row in result.by_team] == [
        ("Workplace", 3, 2),
        ("No team", 1, 0),
    ]
    client.force_login(agent)
    html = client.get(reverse("tickets:satisfaction"), {"period": "30"}).content.decode()
    assert "Per IT team" in html and f"team={team.pk}" in html and "team=none" in html
    listed = client.get(client.get(reverse("tickets:satisfaction"), {"period": "30"}).context["result"].by_team[0].url)
    shown = {t.pk for t in listed.context["page"].object_list}
    assert shown and shown <= set(team.tickets.values_list("pk", flat=True))


def test_me_too_counts_per_problem_source_in_the_period(client, agent, employee, tree):
    from tickets import known_issues
    from tickets.models import AffectedPerson

    outage = services.ticket_create(requester=employee, problem_source=tree["paper_jam"], title="t", description="d")
    known_issues.known_issue_mark(ticket=outage, actor=agent, problem_source=tree["printer"], status_text="Down")
    for name in ("ann", "ben", "cem"):
        known_issues.affected_add(ticket=outage, user=make_user(name))
    AffectedPerson.objects.filter(user__username="cem").update(added_at=timezone.now() - timedelta(days=60))

    result = satisfaction(this_month())
    assert [(row.key, row.solved) for row in result.me_too] == [(tree["paper_jam"].pk, 2)]
    client.force_login(agent)
    html = client.get(reverse("tickets:satisfaction"), {"period": "30"}).content.decode()
    assert "Affects me too" in html and f"source={tree['paper_jam'].pk}&amp;filed_on=exact" in html


def test_a_far_future_period_is_refused_not_a_server_error(client, agent):
    client.force_login(agent)
    response = client.get(
        reverse("tickets:satisfaction"), {"period": "custom", "start": "9999-12-31", "end": "9999-12-31"}
    )
    assert response.status_code == 200 and response.context["form"].errors


def test_employees_do_not_see_the_figures(client, employee):
    client.force_login(employee)
    assert client.get(reverse("tickets:satisfaction")).status_code == 404
