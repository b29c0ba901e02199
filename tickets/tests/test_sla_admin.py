"""Configuring service levels in the admin: calendars, policies, a node's policy and what it inherits."""

import time_machine
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
