"""Service levels: business calendars and SLA policies (imported into ``tickets.models``).

The arithmetic lives in ``tickets.business_time``, the ticket clock in ``tickets.sla``.
"""

import re
from datetime import date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import holidays
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from tickets.business_time import WorkingCalendar

WEEKDAYS = [
    ("monday", _("Monday")),
    ("tuesday", _("Tuesday")),
    ("wednesday", _("Wednesday")),
    ("thursday", _("Thursday")),
    ("friday", _("Friday")),
    ("saturday", _("Saturday")),
    ("sunday", _("Sunday")),
]

_CLOSURE_LINE = re.compile(
    r"^\s*(?P<first>\d{4}-\d{2}-\d{2}|\d{1,2}\.\d{1,2}\.\d{4})"
    r"(?:\s*(?:\.\.|–|-|bis|to)\s*(?P<last>\d{4}-\d{2}-\d{2}|\d{1,2}\.\d{1,2}\.\d{4}))?"
    r"(?:\s+(?P<label>.*))?$"
)


def _parse_day(text: str) -> date:
    if "." in text:
        return datetime.strptime(text, "%d.%m.%Y").date()
    return date.fromisoformat(text)


def parse_closure_days(text: str) -> set[date]:
    """The days of the ``closure_days`` text: one day or range per line, an optional label after it,
    '#' starts a comment. Raises ValidationError naming the line that is not understood."""
    days: set[date] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = _CLOSURE_LINE.match(line)
        try:
            if match is None:
                raise ValueError(line)
            first = _parse_day(match["first"])
            last = _parse_day(match["last"]) if match["last"] else first
        except ValueError:
            raise ValidationError(
                _("Line %(number)s is not a day or a range of days: %(line)s"),
                params={"number": number, "line": line},
            ) from None
        if last < first:
            raise ValidationError(_("Line %(number)s ends before it starts."), params={"number": number})
        if (last - first).days > 366:
            raise ValidationError(_("Line %(number)s spans more than a year."), params={"number": number})
        days.update(first + timedelta(days=offset) for offset in range((last - first).days + 1))
    return days


def default_time_zone() -> str:
    return settings.TIME_ZONE


def supported_holiday_countries() -> dict[str, list[str]]:
    return holidays.list_supported_countries()


class BusinessCalendar(models.Model):
    """When IT works: hours per weekday, a time zone, public holidays and the company's closure days."""

    name = models.CharField(_("name"), max_length=80, unique=True)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default=default_time_zone, help_text=_("An IANA name such as Europe/Berlin.")
    )
    holiday_country = models.CharField(
        _("public holidays of country"),
        max_length=3,
        blank=True,
        help_text=_("An ISO country code such as DE, AT or CH; empty for no public holidays."),
    )
    holiday_subdivision = models.CharField(
        _("region"),
        max_length=10,
        blank=True,
        help_text=_("The state or canton whose holidays apply too, e.g. BY for Bavaria."),
    )
    closure_days = models.TextField(
        _("company closure days"),
        blank=True,
        help_text=_(
            "One day or range per line, with an optional label, e.g. '2026-12-24..2026-12-31 Christmas closure' "
            "or '24.12.2026'."
        ),
    )
    monday_start = models.TimeField(_("Monday from"), null=True, blank=True)
    monday_end = models.TimeField(_("Monday until"), null=True, blank=True)
    tuesday_start = models.TimeField(_("Tuesday from"), null=True, blank=True)
    tuesday_end = models.TimeField(_("Tuesday until"), null=True, blank=True)
    wednesday_start = models.TimeField(_("Wednesday from"), null=True, blank=True)
    wednesday_end = models.TimeField(_("Wednesday until"), null=True, blank=True)
    thursday_start = models.TimeField(_("Thursday from"), null=True, blank=True)
    thursday_end = models.TimeField(_("Thursday until"), null=True, blank=True)
    friday_start = models.TimeField(_("Friday from"), null=True, blank=True)
    friday_end = models.TimeField(_("Friday until"), null=True, blank=True)
    saturday_start = models.TimeField(_("Saturday from"), null=True, blank=True)
    saturday_end = models.TimeField(_("Saturday until"), null=True, blank=True)
    sunday_start = models.TimeField(_("Sunday from"), null=True, blank=True)
    sunday_end = models.TimeField(_("Sunday until"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def weekday_hours(self) -> dict[int, tuple[time, time]]:
        """Weekday (0 = Monday) → (from, until) for the days with working hours."""
        hours = {}
        for number, (day, _label) in enumerate(WEEKDAYS):
            start, end = getattr(self, f"{day}_start"), getattr(self, f"{day}_end")
            if start is not None and end is not None:
                hours[number] = (start, end)
        return hours

    def clean(self):
        errors: dict[str, list] = {}
        try:
            ZoneInfo(self.time_zone)
            if self.time_zone not in available_timezones():
                raise ZoneInfoNotFoundError(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            errors.setdefault("time_zone", []).append(_("Unknown time zone: use an IANA name such as Europe/Berlin."))
        for day, label in WEEKDAYS:
            start, end = getattr(self, f"{day}_start"), getattr(self, f"{day}_end")
            if (start is None) != (end is None):
                errors.setdefault(f"{day}_end", []).append(
                    _("Give both times for %(day)s, or neither for a day off.") % {"day": label}
                )
        if not errors and not self.weekday_hours():
            errors.setdefault("monday_start", []).append(
                _("The calendar has no working time left: give working hours for at least one weekday.")
            )
        country = self.holiday_country.strip().upper()
        subdivision = self.holiday_subdivision.strip()
        self.holiday_country = country
        supported = supported_holiday_countries()
        if country and country not in supported:
            errors.setdefault("holiday_country", []).append(
                _("The holidays package knows no country %(code)s.") % {"code": country}
            )
        elif subdivision and not country:
            errors.setdefault("holiday_country", []).append(_("Choose the country of the region."))
        elif subdivision:
            match = next((s for s in supported[country] if s.upper() == subdivision.upper()), None)
            if match is None:
                errors.setdefault("holiday_subdivision", []).append(
                    _("Unknown region for %(code)s; known are: %(known)s")
                    % {"code": country, "known": ", ".join(supported[country])}
                )
            else:
                self.holiday_subdivision = match
        try:
            parse_closure_days(self.closure_days)
        except ValidationError as error:
            errors.setdefault("closure_days", []).extend(error.messages)
        if errors:
            raise ValidationError(errors)

    @cached_property
    def public_holidays(self):
        if not self.holiday_country:
            return {}
        return holidays.country_holidays(self.holiday_country, subdiv=self.holiday_subdivision or None)

    @cached_property
    def closed_days(self) -> set[date]:
        return parse_closure_days(self.closure_days)

    def is_day_off(self, day: date) -> bool:
        return day in self.closed_days or day in self.public_holidays

    def day_off_name(self, day: date) -> str:
        if day in self.closed_days:
            return str(_("company closure"))
        return self.public_holidays.get(day, "") if self.holiday_country else ""

    @cached_property
    def working_calendar(self) -> WorkingCalendar:
        """For ``tickets.business_time``; a calendar saved through its form always has working time."""
        return WorkingCalendar(
            time_zone=ZoneInfo(self.time_zone), hours=self.weekday_hours(), is_day_off=self.is_day_off
        )


TARGET_HELP = _("In business minutes (240 = 4 business hours); empty for no target at this priority.")


class SlaPolicy(models.Model):
    """Per priority, how fast IT answers first and resolves, in business minutes of one calendar."""

    name = models.CharField(_("name"), max_length=80, unique=True)
    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.PROTECT, related_name="policies", verbose_name=_("business calendar")
    )
    first_response_high = models.PositiveIntegerField(
        _("first response, high priority"), null=True, blank=True, help_text=TARGET_HELP
    )
    first_response_normal = models.PositiveIntegerField(
        _("first response, normal priority"), null=True, blank=True, help_text=TARGET_HELP
    )
    first_response_low = models.PositiveIntegerField(
        _("first response, low priority"), null=True, blank=True, help_text=TARGET_HELP
    )
    resolution_high = models.PositiveIntegerField(
        _("resolution, high priority"), null=True, blank=True, help_text=TARGET_HELP
    )
    resolution_normal = models.PositiveIntegerField(
        _("resolution, normal priority"), null=True, blank=True, help_text=TARGET_HELP
    )
    resolution_low = models.PositiveIntegerField(
        _("resolution, low priority"), null=True, blank=True, help_text=TARGET_HELP
    )
    updated_at = models.DateTimeField(_("updated"), default=timezone.now, editable=False)

    PRIORITY_SUFFIX = {1: "low", 2: "normal", 3: "high"}

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    MAX_TARGET_MINUTES = 366 * 24 * 60  # a year; business time that long is years of calendar time

    def clean(self):
        for kind in ("first_response", "resolution"):
            for suffix in self.PRIORITY_SUFFIX.values():
                minutes = getattr(self, f"{kind}_{suffix}")
                if minutes == 0:
                    raise ValidationError({f"{kind}_{suffix}": _("A target must be at least one minute.")})
                if minutes is not None and minutes > self.MAX_TARGET_MINUTES:
                    raise ValidationError(
                        {
                            f"{kind}_{suffix}": _("A target can be at most %(minutes)s minutes (a year).")
                            % {"minutes": f"{self.MAX_TARGET_MINUTES:,}"}
                        }
                    )

    def first_response_target(self, priority: int) -> timedelta | None:
        minutes = getattr(self, f"first_response_{self.PRIORITY_SUFFIX[priority]}")
        return None if minutes is None else timedelta(minutes=minutes)

    def resolution_target(self, priority: int) -> timedelta | None:
        minutes = getattr(self, f"resolution_{self.PRIORITY_SUFFIX[priority]}")
        return None if minutes is None else timedelta(minutes=minutes)


def business_duration_text(duration: timedelta) -> str:
    """'4 business hours' or '90 business minutes': a target as people read it."""
    minutes = int(duration.total_seconds() // 60)
    if minutes % 60 == 0:
        hours = minutes // 60
        return ngettext("%(count)d business hour", "%(count)d business hours", hours) % {"count": hours}
    return ngettext("%(count)d business minute", "%(count)d business minutes", minutes) % {"count": minutes}
