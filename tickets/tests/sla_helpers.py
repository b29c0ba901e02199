"""Business calendars and SLA policies for the service-level tests."""

from datetime import datetime, time
from zoneinfo import ZoneInfo

from tickets import problem_sources
from tickets.models import BusinessCalendar, ProblemSource, SlaPolicy

BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")


def berlin(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def office_calendar(name="Munich office", closures="") -> BusinessCalendar:
    """Monday to Friday 8:00-17:00 in Berlin, Bavarian holidays."""
    hours = {f"{day}_{edge}": value for day in WEEKDAYS for edge, value in (("start", time(8)), ("end", time(17)))}
    calendar = BusinessCalendar(
        name=name,
        time_zone="Europe/Berlin",
        holiday_country="DE",
        holiday_subdivision="BY",
        closure_days=closures,
        **hours,
    )
    calendar.full_clean()
    calendar.save()
    return calendar


def standard_policy(calendar=None, name="Standard", **targets) -> SlaPolicy:
    """First response within 4 business hours (high: 1), resolution within 16 (high: 8)."""
    values = {
        "first_response_high": 60,
        "first_response_normal": 240,
        "first_response_low": 480,
        "resolution_high": 480,
        "resolution_normal": 960,
        "resolution_low": 2400,
        **targets,
    }
    return SlaPolicy.objects.create(name=name, calendar=calendar or office_calendar(), **values)


def set_policy(node: ProblemSource, policy: SlaPolicy | None) -> ProblemSource:
    """As the admin does: the node's own policy, then what the tree inherits, under the tree lock."""
    with problem_sources.tree_write_lock():
        ProblemSource.objects.filter(pk=node.pk).update(sla_policy=policy)
    return ProblemSource.objects.get(pk=node.pk)
