"""The demo data shows the service levels (``make run``)."""

from devtools import demo_data
from tickets.models import BusinessCalendar, ProblemSource, SlaPolicy, Ticket


def test_demo_data_has_a_bavarian_calendar_two_policies_and_running_clocks(db):
    demo_data.load_demo_data()

    calendar = BusinessCalendar.objects.get()
    assert (calendar.holiday_country, calendar.holiday_subdivision) == ("DE", "BY")
    assert set(SlaPolicy.objects.values_list("name", flat=True)) == {"Standard", "Urgent systems"}
    assert not ProblemSource.objects.filter(effective_sla_policy=None).exists()  # every node inherits one
    assert Ticket.objects.open().filter(sla_due_at__isnull=False).exists()
    finished = Ticket.objects.exclude(sla_resolution_left_seconds=None)
    assert finished.exists()  # resolved demo tickets record how they did
    assert not Ticket.objects.filter(
        status=Ticket.Status.WAITING, sla_due_at__isnull=False, sla_paused_at__isnull=False
    ).exists()
