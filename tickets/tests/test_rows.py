"""Rows read as values (tickets.rows) show what the model and the template filters would."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.template import Context, Template
from django.utils import timezone, translation

from tickets import services
from tickets.models import Ticket, TicketEvent
from tickets.rows import DateText, history_rows, ticket_rows, ticket_rows_by_id, timeline_rows

MOMENTS = [
    datetime(2026, 3, 29, 0, 59, 7, tzinfo=UTC),  # the hour before Berlin's clocks go forward
    datetime(2026, 3, 29, 1, 1, 7, tzinfo=UTC),
    datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # Berlin's clocks go back at 01:00 UTC
    datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
    datetime(2026, 12, 3, 12, 0, 59, tzinfo=UTC),  # noon
    datetime(2026, 12, 31, 23, 30, tzinfo=UTC),  # the next year in Berlin
]
DATETIME_FORMATS = ["c", "DATE_FORMAT", "SHORT_DATE_FORMAT", "SHORT_DATETIME_FORMAT", "DATETIME_FORMAT", "TIME_FORMAT"]


def filtered(value, format_name: str) -> str:
    template = "{{ value|time:'%s' }}" if format_name == "TIME_FORMAT" else "{{ value|date:'%s' }}"
    return Template(template % format_name).render(Context({"value": value}))


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/New_York"])
def test_dates_read_as_the_template_filters_write_them(language, zone):
    with translation.override(language), timezone.override(zone):
        dates = DateText()
        for moment in MOMENTS:
            for format_name in DATETIME_FORMATS:
                expected = filtered(moment, format_name)
                assert dates(moment, format_name) == expected, (moment, format_name)
                assert dates(moment, format_name) == expected, "the second time, from what was kept"
        for day in (date(2026, 2, 1), date(2027, 12, 24)):
            assert dates(day, "SHORT_DATE_FORMAT") == filtered(day, "SHORT_DATE_FORMAT")


def test_a_time_format_with_seconds_is_not_kept_per_minute():
    dates = DateText()
    dates._formats["TIME_FORMAT"] = "H:i:s"  # as a locale with seconds would have it
    first, second = MOMENTS[0], MOMENTS[0] + timedelta(seconds=30)
    assert dates(first, "TIME_FORMAT") != dates(second, "TIME_FORMAT")


def test_ticket_rows_show_what_the_tickets_show(employee, agent, tree, ticket):
    other = services.ticket_create(requester=employee, problem_source=tree["toner"], title="Toner", description="d")
    services.ticket_update(ticket=ticket, actor=agent, assignee=agent, due_date=timezone.localdate() - timedelta(1))
    Ticket.objects.filter(pk=other.pk).update(status=Ticket.Status.CLOSED, due_date=date(2000, 1, 1))

    with translation.override("de"):
        rows = ticket_rows_by_id([other.pk, ticket.pk])

    late, done = rows[1], rows[0]
    assert [row.pk for row in rows] == [other.pk, ticket.pk]  # in the order asked for
    ticket.refresh_from_db()
    assert late.title == ticket.title and late.url == ticket.get_absolute_url()
    assert late.requester == employee.display_name and late.assignee == agent.display_name
    with translation.override("de"):
        assert late.source == ticket.problem_source.name  # the German name
        assert late.updated == filtered(ticket.updated_at, "SHORT_DATETIME_FORMAT")
        assert done.due == filtered(date(2000, 1, 1), "SHORT_DATE_FORMAT")
    assert late.is_overdue and not done.is_overdue  # a closed ticket is never overdue
    assert done.assignee == ""
    assert 'class="badge status-badge status-closed"' in done.status_badge


def test_ticket_rows_keep_the_querysets_order_and_escape_nothing_themselves(employee, tree):
    for title in ("b <i>", "a & b"):
        services.ticket_create(requester=employee, problem_source=tree["toner"], title=title, description="d")

    rows = ticket_rows(Ticket.objects.order_by("title"))

    assert [row.title for row in rows] == ["a & b", "b <i>"]  # raw: the templates escape them


def test_event_rows_show_what_the_events_show(ticket, employee, agent):
    services.ticket_comment(ticket=ticket, author=agent, body="x" * 200, is_internal=False)
    events = TicketEvent.objects.filter(ticket=ticket).order_by("created_at", "pk")

    history = history_rows(events)
    timeline = timeline_rows(events)

    comment = events.get(kind=TicketEvent.Kind.COMMENT)
    assert [row.pk for row in history] == [row.pk for row in timeline] == [event.pk for event in events]
    assert history[-1].comment == "x" * 141  # enough to tell that there is more than 140
    assert timeline[-1].comment == "x" * 200
    assert history[-1].actor_name == timeline[-1].actor_name == agent.display_name
    assert history[-1].ticket_title == ticket.title and history[-1].ticket_url == ticket.get_absolute_url()
    assert timeline[-1].iso == filtered(comment.created_at, "c")
    assert history[0].comment == "" and history[0].actor_name == employee.display_name
