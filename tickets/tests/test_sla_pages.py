"""Where people see the service level: the list, the detail page, the dashboard, the confirmation."""

import time_machine
from django.urls import reverse

from tickets import services
from tickets.models import ProblemSource, Ticket
from tickets.tests.sla_helpers import berlin, set_policy, standard_policy

MONDAY_9 = berlin(2026, 3, 2, 9, 0)


def covered_node(tree) -> ProblemSource:
    return set_policy(tree["paper_jam"], standard_policy())


def file(employee, node, *, at=MONDAY_9, title="Printer jam", priority=2) -> Ticket:
    with time_machine.travel(at, tick=False):
        return services.ticket_create(
            requester=employee, problem_source=node, title=title, description="d", priority=priority
        )


def test_the_list_filters_breached_and_due_soon_and_sorts_by_due_next(client, agent, employee, tree):
    node = covered_node(tree)
    late = file(employee, node, title="Late one", at=berlin(2026, 3, 2, 8, 0))  # first answer due 12:00
    soon = file(employee, node, title="Soon one", at=berlin(2026, 3, 2, 10, 30))  # due 14:30
    later = file(employee, node, title="Later one", at=berlin(2026, 3, 2, 14, 0))  # due Tuesday 9:00
    file(employee, tree["software"], title="No policy")
    client.force_login(agent)

    with time_machine.travel(berlin(2026, 3, 2, 13, 0), tick=False):
        breached = client.get(reverse("tickets:list"), {"sla": "breached"})
        due_soon = client.get(reverse("tickets:list"), {"sla": "soon"})
        by_due = client.get(reverse("tickets:list"), {"sort": "sla"})

    assert [row.pk for row in breached.context["page"].object_list] == [late.pk]
    assert [row.pk for row in due_soon.context["page"].object_list] == [soon.pk]
    assert [row.title for row in by_due.context["page"].object_list] == [
        "Late one",
        "Soon one",
        "Later one",
        "No policy",
    ]
    page = breached.content.decode()
    assert "breached" in page and "sla-badge" in page
    assert later.pk not in [row.pk for row in breached.context["page"].object_list]


def test_employees_cannot_filter_by_service_level(client, employee, tree):
    client.force_login(employee)
    response = client.get(reverse("tickets:list"), {"sla": "breached"})
    assert "sla" not in response.context["form"].fields


def test_the_detail_page_shows_time_left_overdue_and_paused_to_agents(client, agent, employee, tree):
    ticket = file(employee, covered_node(tree))
    client.force_login(agent)

    with time_machine.travel(berlin(2026, 3, 2, 10, 40), tick=False):
        page = client.get(ticket.get_absolute_url()).content.decode()
    assert "2 h 20 min business time left" in page and "first response" in page

    with time_machine.travel(berlin(2026, 3, 2, 14, 0), tick=False):
        page = client.get(ticket.get_absolute_url()).content.decode()
    assert "overdue by 1 h business time" in page and "Breached" in page

    with time_machine.travel(berlin(2026, 3, 2, 11, 0), tick=False):
        services.ticket_update(ticket=ticket, actor=agent, status=Ticket.Status.WAITING)
    with time_machine.travel(berlin(2026, 3, 3, 11, 0), tick=False):
        page = client.get(ticket.get_absolute_url()).content.decode()
    assert "Paused" in page and "2 h left" in page


def test_requesters_are_promised_the_response_time_on_filing_and_on_their_ticket(client, employee, tree):
    node = covered_node(tree)
    client.force_login(employee)
    data = {"problem_source": node.pk, "title": "Jam", "description": "Tray 2", "priority": "2"}

    response = client.post(reverse("tickets:new"), data, follow=True)

    page = response.content.decode()
    assert "IT answers within 4 business hours." in page  # the confirmation and the ticket's facts
    assert "business time left" not in page  # the clock itself is for IT staff
    assert page.count("IT answers within 4 business hours.") == 2


def test_the_dashboard_lists_my_tickets_about_to_breach(client, agent, employee, tree):
    node = covered_node(tree)
    urgent = file(employee, node, title="Urgent one", at=berlin(2026, 3, 2, 8, 0))
    calm = file(employee, node, title="Calm one", at=berlin(2026, 3, 2, 12, 30))
    for ticket in (urgent, calm):
        services.ticket_take(ticket=ticket, agent=agent)
    client.force_login(agent)

    with time_machine.travel(berlin(2026, 3, 2, 11, 0), tick=False):
        response = client.get(reverse("dashboard"))

    assert [row.title for row in response.context["at_risk"]] == ["Urgent one"]
    assert [row.title for row in response.context["queue"]][:2] == ["Urgent one", "Calm one"]
    assert "About to breach the service level" in response.content.decode()


def test_the_clock_costs_no_query_on_the_detail_page_or_the_dashboard(client, agent, employee, tree):
    from tickets.tests.test_query_counts import queries_for

    with_sla = file(employee, covered_node(tree))
    without = file(employee, tree["software"])
    for ticket in (with_sla, without):
        services.ticket_take(ticket=ticket, agent=agent)
    client.force_login(agent)

    assert queries_for(client, with_sla.get_absolute_url()) == queries_for(client, without.get_absolute_url())
    client.force_login(employee)
    assert queries_for(client, with_sla.get_absolute_url()) == queries_for(client, without.get_absolute_url())
