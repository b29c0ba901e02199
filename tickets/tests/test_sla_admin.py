"""Configuring service levels in the admin: calendars, policies, a node's policy and what it inherits."""

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse

from tickets import services
from tickets.models import BusinessCalendar, ProblemSource, Ticket
from tickets.tests.sla_helpers import berlin, office_calendar, set_policy, standard_policy


def node_form(node, **changes):
    data = {
        "parent": node.parent_id or "",
        "name_en": node.name_en,
        "name_de": node.name_de,
        "help_text_en": node.help_text_en,
        "help_text_de": node.help_text_de,
        "icon": node.icon,
        "is_active": "on" if node.is_active else "",
        "sla_policy": "",
    }
    return {key: value for key, value in {**data, **changes}.items() if value != ""}


def test_setting_a_policy_on_a_node_shows_it_inherited_below(client, admin, tree):
    policy = standard_policy()
    client.force_login(admin)

    response = client.post(
        reverse("admin:tickets_problemsource_change", args=[tree["printer"].pk]),
        node_form(tree["printer"], sla_policy=policy.pk),
    )

    assert response.status_code == 302
    assert ProblemSource.objects.get(pk=tree["toner"].pk).effective_sla_policy_id == policy.pk
    page = client.get(reverse("admin:tickets_problemsource_change", args=[tree["toner"].pk])).content.decode()
    assert "Standard (inherited from Printer)" in page
    page = client.get(reverse("admin:tickets_problemsource_change", args=[tree["printer"].pk])).content.decode()
    assert "Standard (set here)" in page
    listing = client.get(reverse("admin:tickets_problemsource_changelist")).content.decode()
    assert listing.count("Standard") >= 3  # Printer, Paper jam, Toner empty


def calendar_form(**changes):
    data = {"name": "Office", "time_zone": "Europe/Berlin", "holiday_country": "DE", "holiday_subdivision": "BY"}
    data.update({f"{day}_start": "08:00" for day in ("monday", "tuesday")})
    data.update({f"{day}_end": "17:00" for day in ("monday", "tuesday")})
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_a_calendar_without_working_time_is_refused_with_a_clear_message(client, admin):
    client.force_login(admin)
    response = client.post(
        reverse("admin:tickets_businesscalendar_add"),
        calendar_form(monday_start=None, monday_end=None, tuesday_start=None, tuesday_end=None),
    )
    assert response.status_code == 200
    assert "no working time left" in response.content.decode()
    assert not BusinessCalendar.objects.exists()


def test_saving_a_calendar_recomputes_the_open_tickets(client, admin, tree, employee):
    calendar = office_calendar(name="Office")
    node = set_policy(tree["paper_jam"], standard_policy(calendar=calendar))
    with time_machine.travel(berlin(2026, 3, 2, 9, 0), tick=False):
        ticket = services.ticket_create(requester=employee, problem_source=node, title="t", description="d")
    client.force_login(admin)

    response = client.post(
        reverse("admin:tickets_businesscalendar_change", args=[calendar.pk]),
        calendar_form(closure_days="2026-03-02 inventory", follow=None),
        follow=True,
    )

    assert "Due times of 1 open tickets recomputed." in response.content.decode()
    assert Ticket.objects.get(pk=ticket.pk).first_response_due_at == berlin(2026, 3, 3, 12, 0)


def test_the_policy_admin_pages_render(client, admin):
    policy = standard_policy()
    client.force_login(admin)
    assert client.get(reverse("admin:tickets_slapolicy_changelist")).status_code == 200
    assert client.get(reverse("admin:tickets_slapolicy_change", args=[policy.pk])).status_code == 200
    assert client.get(reverse("admin:tickets_businesscalendar_changelist")).status_code == 200


def test_deleting_a_policy_stops_the_clock_of_its_open_tickets_and_alerts_none(client, admin, tree, employee, agent):
    from tickets import sla_alerts

    policy = standard_policy()
    node = set_policy(tree["paper_jam"], policy)
    with time_machine.travel(berlin(2026, 3, 2, 9, 0), tick=False):
        open_one = services.ticket_create(requester=employee, problem_source=node, title="open", description="d")
        done = services.ticket_create(requester=employee, problem_source=node, title="done", description="d")
        services.ticket_comment(ticket=done, author=agent, body="fixed")
        services.ticket_update(ticket=done, actor=agent, status=Ticket.Status.RESOLVED)
    set_policy(tree["paper_jam"], None)
    client.force_login(admin)

    response = client.post(reverse("admin:tickets_slapolicy_delete", args=[policy.pk]), {"post": "yes"})

    assert response.status_code == 302
    stopped = Ticket.objects.get(pk=open_one.pk)
    assert (stopped.sla_policy, stopped.sla_due_at, stopped.first_response_due_at) == (None, None, None)
    assert Ticket.objects.get(pk=done.pk).first_response_due_at is not None  # the record of how it went stays
    result = sla_alerts.run(now=berlin(2026, 4, 1, 9, 0))
    assert (result.warned, result.breached) == ([], [])


def test_a_target_longer_than_a_year_is_refused_with_a_clear_message(client, admin):
    policy = standard_policy()
    policy.first_response_normal = 5_000_000
    with pytest.raises(ValidationError) as refused:
        policy.full_clean()
    assert "at most 527,040 minutes" in str(refused.value)


def test_a_calendar_whose_closures_leave_no_time_gives_no_clock_instead_of_failing(tree, employee):
    closed = "\n".join(f"{year}-01-01..{year}-12-31 closed" for year in range(2026, 2040))  # a line a year
    calendar = office_calendar(name="Closed", closures=closed)
    node = set_policy(tree["paper_jam"], standard_policy(calendar=calendar))
    with time_machine.travel(berlin(2026, 3, 2, 9, 0), tick=False):
        ticket = services.ticket_create(requester=employee, problem_source=node, title="t", description="d")
    assert (ticket.first_response_due_at, ticket.sla_due_at) == (None, None)
