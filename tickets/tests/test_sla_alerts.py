"""Service-level warnings at 80 % and on breach (tickets.sla_alerts): once, to the right people, cheap."""

from collections import Counter
from datetime import date

import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conftest import make_user
from teams_app import activity_types, payloads
from teams_app.models import Notification, NotificationPreference
from tickets import jobs, services, sla_alerts
from tickets.models import JobRecord, ProblemSource, Team, Ticket, TicketEvent
from tickets.tests.sla_helpers import berlin, set_policy, standard_policy

Kind = TicketEvent.Kind
SLA_KIND = activity_types.TICKET_SLA.type


def covered(tree):
    return set_policy(tree["paper_jam"], standard_policy())


def file(employee, node, *, at=None, title="Jam") -> Ticket:
    with time_machine.travel(at or berlin(2026, 3, 2, 9, 0), tick=False):
        return services.ticket_create(requester=employee, problem_source=node, title=title, description="d")


def sla_notifications():
    return Notification.objects.filter(kind=SLA_KIND)


def test_the_assignee_is_warned_at_80_percent_and_told_of_the_breach_once(tree, employee, agent, second_agent):
    ticket = file(employee, covered(tree))  # first response due 13:00, warning at 12:12
    services.ticket_take(ticket=ticket, agent=agent)

    assert sla_alerts.run(now=berlin(2026, 3, 2, 12, 0)).warned == []
    result = sla_alerts.run(now=berlin(2026, 3, 2, 12, 15))
    assert result.warned == [ticket.pk]
    assert sla_alerts.run(now=berlin(2026, 3, 2, 12, 30)).warned == []  # once

    result = sla_alerts.run(now=berlin(2026, 3, 2, 13, 5))
    assert result.breached == [ticket.pk] and result.warned == []
    assert sla_alerts.run(now=berlin(2026, 3, 2, 14, 0)).breached == []

    events = list(TicketEvent.objects.filter(ticket=ticket, kind__in=[Kind.SLA_WARNING, Kind.SLA_BREACH]))
    assert sorted((event.kind, event.new_value, event.is_internal) for event in events) == [
        (Kind.SLA_BREACH, "first_response", True),
        (Kind.SLA_WARNING, "first_response", True),
    ]
    assert set(sla_notifications().values_list("recipient__username", flat=True)) == {agent.username}
    assert sla_notifications().count() == 2  # e-mail: one per alert


def test_unassigned_tickets_alert_all_it_staff(tree, employee, agent, second_agent):
    file(employee, covered(tree))
    sla_alerts.run(now=berlin(2026, 3, 2, 12, 15))
    assert set(sla_notifications().values_list("recipient", flat=True)) == {agent.pk, second_agent.pk}


def team_of(node, *members, name="Workplace"):
    """A team owning ``node`` (no automatic assignment), with these members."""
    team = Team.objects.create(name=name)
    team.members.set(members)
    ProblemSource.objects.filter(pk=node.pk).update(team=team)
    return team


def test_an_unassigned_ticket_of_a_team_warns_its_present_members_only(tree, employee, agent, second_agent):
    node = covered(tree)
    away = make_user("away", agent=True, absent_from=date(2026, 3, 1), absent_until=date(2026, 3, 6))
    team_of(node, second_agent, away)
    ticket = file(employee, node)
    assert ticket.team_id is not None and ticket.assignee_id is None

    sla_alerts.run(now=berlin(2026, 3, 2, 12, 15))

    assert set(sla_notifications().values_list("recipient", flat=True)) == {second_agent.pk}  # not agent, not away


def test_a_breach_tells_the_assignee_and_the_team_once(tree, employee, agent, second_agent):
    node = covered(tree)
    team_of(node, second_agent)
    ticket = file(employee, node)
    services.ticket_take(ticket=ticket, agent=agent)

    sla_alerts.run(now=berlin(2026, 3, 2, 12, 15))  # the warning: the assignee alone
    assert set(sla_notifications().values_list("recipient", flat=True)) == {agent.pk}
    sla_alerts.run(now=berlin(2026, 3, 2, 13, 5))
    sla_alerts.run(now=berlin(2026, 3, 2, 13, 30))  # once
    # The assignee heard of the warning and the breach, the team member of the breach only.
    assert Counter(sla_notifications().values_list("recipient", flat=True)) == {agent.pk: 2, second_agent.pk: 1}


def test_a_team_whose_members_are_all_away_falls_back_to_all_it_staff(tree, employee, agent, second_agent):
    node = covered(tree)
    away = make_user("away", agent=True, absent_from=date(2026, 3, 1), absent_until=date(2026, 3, 6))
    team_of(node, away)
    file(employee, node)
    sla_alerts.run(now=berlin(2026, 3, 2, 12, 15))
    assert set(sla_notifications().values_list("recipient", flat=True)) == {agent.pk, second_agent.pk, away.pk}


def test_each_target_is_warned_of_separately(tree, employee, agent):
    ticket = file(employee, covered(tree))
    services.ticket_take(ticket=ticket, agent=agent)
    sla_alerts.run(now=berlin(2026, 3, 2, 12, 15))
    with time_machine.travel(berlin(2026, 3, 2, 12, 30), tick=False):
        services.ticket_comment(ticket=ticket, author=agent, body="Looking")  # resolution due Tue 16:00

    result = sla_alerts.run(now=berlin(2026, 3, 3, 13, 0))  # 80 % of 16 h: Tuesday 12:48

    assert result.warned == [ticket.pk]
    assert JobRecord.objects.filter(ticket=ticket).count() == 2


def test_a_paused_ticket_is_never_alerted(tree, employee, agent):
    ticket = file(employee, covered(tree))
    with time_machine.travel(berlin(2026, 3, 2, 10, 0), tick=False):
        services.ticket_update(ticket=ticket, actor=agent, status=Ticket.Status.WAITING)
    result = sla_alerts.run(now=berlin(2026, 3, 5, 10, 0))
    assert result.warned == [] and result.breached == []


def test_preferences_apply_and_nobody_hears_of_it_when_they_chose_none(tree, employee, agent):
    ticket = file(employee, covered(tree))
    services.ticket_take(ticket=ticket, agent=agent)
    NotificationPreference.objects.create(user=agent, kind=SLA_KIND, channel=NotificationPreference.NONE)

    result = sla_alerts.run(now=berlin(2026, 3, 2, 12, 15))

    assert result.warned == [ticket.pk] and result.notifications == 0
    assert TicketEvent.objects.filter(ticket=ticket, kind=Kind.SLA_WARNING).exists()  # the timeline has it


def test_the_alert_reads_well_in_e_mail_and_on_the_timeline(client, tree, employee, agent):
    ticket = file(employee, covered(tree))
    services.ticket_take(ticket=ticket, agent=agent)
    sla_alerts.run(now=berlin(2026, 3, 2, 13, 5))
    notification = sla_notifications().get()

    mail = payloads.email(notification)

    assert "first-response target breached" in mail.subject + mail.text
    client.force_login(agent)
    page = client.get(ticket.get_absolute_url()).content.decode()
    assert "The service level for the <strong>first response</strong> was breached" in page
    client.force_login(employee)
    assert "service level" not in client.get(ticket.get_absolute_url()).content.decode().lower().replace(
        "service level</dt>", ""
    )


def test_a_run_costs_the_same_queries_for_2_or_40_tickets(tree, employee, agent, django_assert_max_num_queries):
    node = covered(tree)
    people = [agent, make_user("carla", agent=True)]
    team_of(node, people[1])  # unassigned ones warn the team; its members are read once per run

    def busy(count: int, day: int) -> None:
        for number in range(count):
            ticket = file(employee, node, at=berlin(2026, 3, day, 9, 0), title=f"T{number}")
            if number % 3:  # some unassigned: all IT staff hear of those
                services.ticket_take(ticket=ticket, agent=people[number % 3 - 1])

    busy(2, 2)
    with CaptureQueriesContext(connection) as captured:
        assert len(sla_alerts.run(now=berlin(2026, 3, 2, 13, 5)).breached) == 2
    few = len(captured)
    busy(40, 3)
    with django_assert_max_num_queries(few):
        assert len(sla_alerts.run(now=berlin(2026, 3, 3, 13, 5)).breached) == 40
    assert few <= 14


def test_pruning_keeps_the_alert_records_of_open_tickets(tree, employee, agent, settings):
    node = covered(tree)
    ticket = file(employee, node)
    done = file(employee, node)
    sla_alerts.run(now=berlin(2026, 3, 2, 13, 5))
    services.ticket_close(ticket=done, user=employee)
    JobRecord.objects.update(created_at=berlin(2025, 1, 1, 0, 0))

    jobs.prune()

    assert list(JobRecord.objects.values_list("ticket", flat=True)) == [ticket.pk]
    assert reverse("tickets:detail", args=[ticket.pk])
