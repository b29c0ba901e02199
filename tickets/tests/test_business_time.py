"""Business-time arithmetic (tickets.business_time) and the calendar's configuration checks."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from tickets.business_time import (
    NoWorkingTimeError,
    WorkingCalendar,
    add_business_minutes,
    add_business_time,
    business_minutes_between,
    business_time_between,
)
from tickets.models import BusinessCalendar
from tickets.sla_models import parse_closure_days

BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = {day: (time(8), time(17)) for day in range(5)}  # Monday to Friday, 8:00-17:00


def berlin(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def office(is_day_off=lambda day: False, hours=OFFICE) -> WorkingCalendar:
    return WorkingCalendar(time_zone=BERLIN, hours=hours, is_day_off=is_day_off)


# --- Within days and across nights and weekends ---------------------------------------------------


def test_adding_within_a_working_day():
    assert add_business_minutes(office(), berlin(2026, 3, 2, 9, 0), 90) == berlin(2026, 3, 2, 10, 30)


def test_the_rest_carries_over_the_night_to_the_next_morning():
    # Monday 16:00 + 2 hours: one hour on Monday, one on Tuesday from 8:00.
    assert add_business_minutes(office(), berlin(2026, 3, 2, 16, 0), 120) == berlin(2026, 3, 3, 9, 0)


def test_a_target_ending_at_closing_time_is_due_at_closing_time():
    assert add_business_minutes(office(), berlin(2026, 3, 2, 16, 0), 60) == berlin(2026, 3, 2, 17, 0)


def test_filed_at_night_the_clock_starts_in_the_morning():
    assert add_business_minutes(office(), berlin(2026, 3, 2, 22, 0), 30) == berlin(2026, 3, 3, 8, 30)


def test_the_weekend_does_not_count():
    # Friday 15:00 + 4 hours: 2 on Friday, 2 on Monday.
    assert add_business_minutes(office(), berlin(2026, 3, 6, 15, 0), 240) == berlin(2026, 3, 9, 10, 0)
    assert business_minutes_between(office(), berlin(2026, 3, 6, 15, 0), berlin(2026, 3, 9, 10, 0)) == 240


def test_minutes_between_is_negative_backwards_and_zero_outside_hours():
    calendar = office()
    assert business_minutes_between(calendar, berlin(2026, 3, 3, 9, 0), berlin(2026, 3, 2, 16, 0)) == -120
    assert business_minutes_between(calendar, berlin(2026, 3, 7, 9, 0), berlin(2026, 3, 8, 18, 0)) == 0


def test_adding_a_negative_amount_goes_back_in_business_time():
    assert add_business_minutes(office(), berlin(2026, 3, 9, 10, 0), -240) == berlin(2026, 3, 6, 15, 0)


def test_adding_zero_keeps_the_instant_even_outside_working_hours():
    assert add_business_minutes(office(), berlin(2026, 3, 7, 12, 0), 0) == berlin(2026, 3, 7, 12, 0)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="aware"):
        add_business_minutes(office(), datetime(2026, 3, 2, 9, 0), 10)


# --- Holidays and closure days --------------------------------------------------------------------


def bavaria(closures: str = "") -> BusinessCalendar:
    calendar = BusinessCalendar(
        name="Munich office",
        time_zone="Europe/Berlin",
        holiday_country="DE",
        holiday_subdivision="BY",
        closure_days=closures,
        **{
            f"{day}_{edge}": value
            for day in ("monday", "tuesday", "wednesday", "thursday", "friday")
            for edge, value in (("start", time(8)), ("end", time(17)))
        },
    )
    calendar.full_clean(validate_unique=False)
    return calendar


def test_public_holidays_of_the_region_do_not_count():
    # Tuesday 6 January 2026 is Epiphany in Bavaria (not in Berlin): Monday 16:00 + 2 h -> Wednesday 9:00.
    calendar = bavaria().working_calendar
    assert add_business_minutes(calendar, berlin(2026, 1, 5, 16, 0), 120) == berlin(2026, 1, 7, 9, 0)


def test_national_holidays_count_as_days_off_without_a_region():
    calendar = BusinessCalendar(
        name="x",
        holiday_country="DE",
        monday_start=time(8),
        monday_end=time(17),
        tuesday_start=time(8),
        tuesday_end=time(17),
    )
    calendar.full_clean(validate_unique=False)
    # Easter Monday 2026-04-06 is off; Tuesday counts.
    assert add_business_minutes(calendar.working_calendar, berlin(2026, 4, 3, 12, 0), 60) == berlin(2026, 4, 7, 9, 0)


def test_company_closure_days_do_not_count():
    calendar = bavaria("2026-03-03..2026-03-04 inventory\n05.03.2026 # the day after").working_calendar
    # Monday 16:00 + 2 h: Tuesday to Thursday are closed -> Friday 9:00.
    assert add_business_minutes(calendar, berlin(2026, 3, 2, 16, 0), 120) == berlin(2026, 3, 6, 9, 0)


def test_a_target_crossing_the_new_year_skips_the_holidays_and_the_christmas_closure():
    calendar = bavaria("2026-12-24..2026-12-31 Christmas closure").working_calendar
    # Wednesday 23 Dec 2026 15:00 + 9 business hours: 2 h on the 23rd, closure until the 31st, 1 January
    # (New Year) off, weekend, Monday 4 Jan 8:00-15:00 the remaining 7 hours.
    due = add_business_minutes(calendar, berlin(2026, 12, 23, 15, 0), 9 * 60)
    assert due == berlin(2027, 1, 4, 15, 0)
    assert business_minutes_between(calendar, berlin(2026, 12, 23, 15, 0), due) == 9 * 60


def test_closure_lines_that_are_not_days_are_reported_by_line():
    assert parse_closure_days("2026-12-24..2026-12-26 Christmas") == {
        date(2026, 12, 24),
        date(2026, 12, 25),
        date(2026, 12, 26),
    }
    assert parse_closure_days("24.12.2026..25.12.2026 Weihnachten") == {date(2026, 12, 24), date(2026, 12, 25)}
    with pytest.raises(ValidationError, match="Line 2"):
        parse_closure_days("2026-12-24\nsoon")
    with pytest.raises(ValidationError, match="ends before"):
        parse_closure_days("2026-12-24..2026-12-01")


# --- Overnight shifts and daylight saving time ----------------------------------------------------

NIGHTS = {day: (time(22), time(6)) for day in range(7)}  # every night 22:00-06:00


def test_a_night_shift_runs_past_midnight():
    calendar = office(hours=NIGHTS)
    assert add_business_minutes(calendar, berlin(2026, 3, 2, 23, 0), 120) == berlin(2026, 3, 3, 1, 0)
    # 05:00 lies in the shift that started the evening before.
    assert add_business_minutes(calendar, berlin(2026, 3, 3, 5, 0), 120) == berlin(2026, 3, 3, 23, 0)


def test_a_holiday_cancels_the_shift_that_starts_on_it_not_the_one_before():
    calendar = office(hours=NIGHTS, is_day_off=lambda day: day == date(2026, 3, 3))
    # The Monday-night shift runs into Tuesday; Tuesday's night is off; Wednesday's runs.
    assert business_minutes_between(calendar, berlin(2026, 3, 2, 12, 0), berlin(2026, 3, 4, 12, 0)) == 8 * 60


def test_the_night_the_clocks_go_forward_is_an_hour_shorter():
    calendar = office(hours=NIGHTS)
    # 28/29 March 2026: 02:00 CET becomes 03:00 CEST.
    assert business_minutes_between(calendar, berlin(2026, 3, 28, 12, 0), berlin(2026, 3, 29, 12, 0)) == 7 * 60
    assert add_business_minutes(calendar, berlin(2026, 3, 28, 22, 0), 7 * 60) == berlin(2026, 3, 29, 6, 0)


def test_the_night_the_clocks_go_back_is_an_hour_longer():
    calendar = office(hours=NIGHTS)
    # 24/25 October 2026: 03:00 CEST becomes 02:00 CET.
    assert business_minutes_between(calendar, berlin(2026, 10, 24, 12, 0), berlin(2026, 10, 25, 12, 0)) == 9 * 60
    assert add_business_minutes(calendar, berlin(2026, 10, 24, 22, 0), 8 * 60) == berlin(2026, 10, 25, 5, 0)


def test_office_hours_keep_their_local_times_across_a_dst_weekend():
    # Friday 16:00 CET + 2 h -> Monday 9:00 CEST: the wall clock, not UTC, defines the working day.
    due = add_business_minutes(office(), berlin(2026, 3, 27, 16, 0), 120)
    assert due == berlin(2026, 3, 30, 9, 0)
    assert due.astimezone(UTC).hour == 7


def test_around_the_clock_equals_real_time_across_both_dst_changes():
    calendar = office(hours={day: (time(0), time(0)) for day in range(7)})
    for start, end in (
        (berlin(2026, 3, 28, 12), berlin(2026, 3, 29, 12)),
        (berlin(2026, 10, 24, 12), berlin(2026, 10, 25, 12)),
    ):
        # (Python subtracts datetimes of one zone by their wall clocks; the real span is in UTC.)
        assert business_time_between(calendar, start, end) == end.astimezone(UTC) - start.astimezone(UTC)
    assert add_business_time(calendar, berlin(2026, 3, 28, 12), timedelta(hours=24)) == berlin(2026, 3, 29, 13)


def test_overlapping_spans_count_once():
    hours = {0: (time(20), time(8)), 1: (time(6), time(18))}  # Monday night into Tuesday's early start
    calendar = office(hours=hours)
    assert business_minutes_between(calendar, berlin(2026, 3, 2, 0, 0), berlin(2026, 3, 4, 0, 0)) == 22 * 60


# --- Pause and resume (measured and added as the ticket clock does) -------------------------------


def test_a_pause_moves_the_due_time_by_the_business_time_it_lasted():
    calendar = office()
    created = berlin(2026, 3, 2, 9, 0)
    target = timedelta(hours=8)
    paused_from, paused_until = berlin(2026, 3, 2, 11, 0), berlin(2026, 3, 3, 10, 0)  # 6 + 2 business hours
    stopped = business_time_between(calendar, paused_from, paused_until)
    assert stopped == timedelta(hours=8)
    assert add_business_time(calendar, created, target) == berlin(2026, 3, 2, 17, 0)
    assert add_business_time(calendar, created, target + stopped) == berlin(2026, 3, 3, 16, 0)


# --- Configuration ----------------------------------------------------------------------------------


def test_a_calendar_without_working_hours_is_refused_when_configured():
    calendar = BusinessCalendar(name="Never", time_zone="Europe/Berlin")
    with pytest.raises(ValidationError) as raised:
        calendar.full_clean(validate_unique=False)
    assert "no working time left" in str(raised.value)
    with pytest.raises(NoWorkingTimeError):
        WorkingCalendar(time_zone=BERLIN, hours={})


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone", "Unknown time zone"),
        ({"holiday_country": "XX"}, "holiday_country", "knows no country"),
        ({"holiday_country": "DE", "holiday_subdivision": "ZZ"}, "holiday_subdivision", "Unknown region"),
        ({"monday_end": None}, "monday_end", "both times"),
        ({"closure_days": "tomorrow"}, "closure_days", "Line 1"),
    ],
)
def test_bad_calendar_settings_get_a_clear_message(fields, field, message):
    values = {"name": "c", "time_zone": "Europe/Berlin", "monday_start": time(8), "monday_end": time(17), **fields}
    with pytest.raises(ValidationError) as raised:
        BusinessCalendar(**values).full_clean(validate_unique=False)
    assert message in " ".join(raised.value.message_dict[field])


def test_region_codes_are_normalised():
    calendar = BusinessCalendar(
        name="c", holiday_country="de", holiday_subdivision="by", monday_start=time(8), monday_end=time(17)
    )
    calendar.full_clean(validate_unique=False)
    assert (calendar.holiday_country, calendar.holiday_subdivision) == ("DE", "BY")
    assert calendar.day_off_name(date(2026, 1, 6)) == "Epiphany"
