"""The service-level clock of a ticket: its stored due times, kept by the workflows in ``services``.

A ticket gets the SLA policy in force on its problem source when it is filed (or moved to another
node). Its targets depend on the priority; due times are stored on the ticket so that lists filter
and sort by an indexed column:

    first_response_due_at = created_at + first-response target + time the clock stood still
    resolution_due_at     = created_at + resolution target     + time the clock stood still

all in business time of the policy's calendar (``tickets.business_time``). ``sla_due_at`` is the
next of them still to meet (the first response until IT answered, then the resolution) and
``sla_warning_at`` the moment 80 % of that target is used; both are NULL while the clock stands
still, so a paused ticket is never "breached".

The clock stands still while the ticket waits for its requester and after it was resolved or
closed. It runs again when the ticket goes back to New or In progress, or when the requester answers
a ticket that waits for them (its status stays "waiting" until an agent changes it).

Every function here changes the ticket object only; the caller saves it (with the event) in its
transaction. The policy and its calendar must be loaded with the ticket (``_lock`` does that).
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tickets.business_time import NoWorkingTimeError, add_business_time, business_time_between
from tickets.models import SlaPolicy, Ticket
from tickets.rows import sla_state
from tickets.sla_models import business_duration_text

Status = Ticket.Status
STOPPED_STATUSES = (Status.WAITING, Status.RESOLVED, Status.CLOSED)
WARNING_SHARE = 0.8
logger = logging.getLogger(__name__)

SLA_FIELDS = [
    "sla_policy",
    "first_response_due_at",
    "resolution_due_at",
    "sla_due_at",
    "sla_warning_at",
    "sla_paused_at",
    "sla_paused_seconds",
    "sla_resolution_left_seconds",
]


def policy_for_source(problem_source) -> SlaPolicy | None:
    """The policy in force on a node (its own or inherited): no query without one, else one."""
    policy_id = problem_source.effective_sla_policy_id
    if policy_id is None:
        return None
    return SlaPolicy.objects.select_related("calendar").filter(pk=policy_id).first()


def start(ticket: Ticket, policy: SlaPolicy | None, *, now=None) -> None:
    """A new clock under ``policy`` (None: no service level) from the ticket's creation."""
    ticket.sla_policy = policy
    ticket.sla_paused_seconds = 0
    ticket.sla_paused_at = None if ticket.status not in STOPPED_STATUSES else (now or timezone.now())
    ticket.sla_resolution_left_seconds = None
    recompute(ticket)


def recompute(ticket: Ticket) -> None:
    """Due times from the creation, the policy's targets for the priority and the stopped time."""
    policy = ticket.sla_policy
    if policy is None:
        ticket.first_response_due_at = ticket.resolution_due_at = None
        ticket.sla_due_at = ticket.sla_warning_at = None
        return
    calendar = policy.calendar.working_calendar
    stopped = timedelta(seconds=ticket.sla_paused_seconds)

    def due(target):
        return None if target is None else add_business_time(calendar, ticket.created_at, target + stopped)

    try:
        ticket.first_response_due_at = due(policy.first_response_target(ticket.priority))
        ticket.resolution_due_at = due(policy.resolution_target(ticket.priority))
    except NoWorkingTimeError:
        # The calendar's closures leave no working time before the target (a configuration the admin
        # should fix): the ticket has no clock rather than a failed change.
        logger.warning("SLA policy %s: no working time left for ticket %s; no due times", policy.pk, ticket.pk)
        ticket.first_response_due_at = ticket.resolution_due_at = None
        ticket.sla_due_at = ticket.sla_warning_at = None
        return
    _set_next(ticket)


def _pending_target(ticket: Ticket) -> tuple[str, timedelta] | None:
    policy = ticket.sla_policy
    if policy is None:
        return None
    if ticket.first_response_at is None and ticket.first_response_due_at is not None:
        return "first_response", policy.first_response_target(ticket.priority)
    if ticket.resolution_due_at is not None:
        return "resolution", policy.resolution_target(ticket.priority)
    return None


def _set_next(ticket: Ticket) -> None:
    pending = _pending_target(ticket)
    if ticket.sla_paused_at is not None or pending is None:
        ticket.sla_due_at = ticket.sla_warning_at = None
        return
    name, target = pending
    ticket.sla_due_at = ticket.first_response_due_at if name == "first_response" else ticket.resolution_due_at
    calendar = ticket.sla_policy.calendar.working_calendar
    stopped = timedelta(seconds=ticket.sla_paused_seconds)
    ticket.sla_warning_at = add_business_time(calendar, ticket.created_at, target * WARNING_SHARE + stopped)


def stop(ticket: Ticket, *, now) -> None:
    if ticket.sla_policy is None or ticket.sla_paused_at is not None:
        return
    ticket.sla_paused_at = now
    ticket.sla_due_at = ticket.sla_warning_at = None


def resume(ticket: Ticket, *, now) -> None:
    if ticket.sla_policy is None or ticket.sla_paused_at is None:
        return
    calendar = ticket.sla_policy.calendar.working_calendar
    stopped = business_time_between(calendar, ticket.sla_paused_at, now)
    ticket.sla_paused_seconds += max(int(stopped.total_seconds()), 0)
    ticket.sla_paused_at = None
    recompute(ticket)


def status_changed(ticket: Ticket, *, old_status: str, now) -> None:
    """After ``ticket.status`` changed from ``old_status``: stop or restart the clock."""
    if ticket.sla_policy is None:
        return
    if ticket.status in (Status.RESOLVED, Status.CLOSED):
        if old_status not in (Status.RESOLVED, Status.CLOSED) and ticket.resolution_due_at is not None:
            stopped_at = ticket.sla_paused_at or now
            left = business_time_between(
                ticket.sla_policy.calendar.working_calendar, stopped_at, ticket.resolution_due_at
            )
            ticket.sla_resolution_left_seconds = int(left.total_seconds())
        stop(ticket, now=now)
    elif ticket.status == Status.WAITING:
        stop(ticket, now=now)
    else:
        ticket.sla_resolution_left_seconds = None
        resume(ticket, now=now)


def requester_answered(ticket: Ticket, *, now) -> bool:
    """The requester wrote on a ticket waiting for them: the clock runs again. True if it changed."""
    if ticket.status != Status.WAITING or ticket.sla_paused_at is None:
        return False
    resume(ticket, now=now)
    return True


def first_response_given(ticket: Ticket) -> bool:
    """IT answered for the first time (``first_response_at`` set by the caller): the resolution is
    due next. True if the clock fields changed."""
    if ticket.sla_policy is None:
        return False
    before = (ticket.sla_due_at, ticket.sla_warning_at)
    _set_next(ticket)
    return before != (ticket.sla_due_at, ticket.sla_warning_at)


def time_left(ticket: Ticket, *, now=None) -> timedelta | None:
    """Business time left until ``sla_due_at`` (negative: overdue); while the clock stands still, the
    time that was left when it stopped. None without a pending target. No query (policy loaded)."""
    pending = _pending_target(ticket)
    if pending is None:
        return None
    due = ticket.first_response_due_at if pending[0] == "first_response" else ticket.resolution_due_at
    calendar = ticket.sla_policy.calendar.working_calendar
    return business_time_between(calendar, ticket.sla_paused_at or now or timezone.now(), due)


@transaction.atomic
def recompute_open_tickets(*, calendar=None, policy=None) -> int:
    """After a business calendar or an SLA policy changed: the open tickets under it get their due
    times anew (finished tickets keep the record of how they did). Returns how many changed.

    Run by the admin when it saves a calendar or policy; a configuration change, rare, so one pass
    over the affected open tickets under row locks is fine.
    """
    tickets = Ticket.objects.open().select_for_update(of=("self",)).select_related("sla_policy__calendar")
    if calendar is not None:
        tickets = tickets.filter(sla_policy__calendar=calendar)
    if policy is not None:
        tickets = tickets.filter(sla_policy=policy)
    changed = []
    for ticket in tickets.order_by("pk"):
        before = [getattr(ticket, name) for name in SLA_FIELDS[1:]]
        recompute(ticket)
        if [getattr(ticket, name) for name in SLA_FIELDS[1:]] != before:
            changed.append(ticket)
    Ticket.objects.bulk_update(changed, SLA_FIELDS[1:], batch_size=500)
    return len(changed)


def policy_removed(policy: SlaPolicy) -> int:
    """Before ``policy`` is deleted: its open tickets lose their clock (under row locks), so none keeps
    due times that nothing stops any more; finished tickets keep the record of how they did. Returns
    how many tickets changed."""
    tickets = list(Ticket.objects.open().select_for_update(of=("self",)).filter(sla_policy=policy).order_by("pk"))
    for ticket in tickets:
        ticket.sla_policy = None
        ticket.sla_paused_at = None
        recompute(ticket)
    Ticket.objects.bulk_update(tickets, SLA_FIELDS, batch_size=500)
    return len(tickets)


# --- What people see ------------------------------------------------------------------------------


def duration_text(amount: timedelta) -> str:
    """A business duration as '3 h 20 min' (no sign)."""
    minutes = int(abs(amount.total_seconds()) // 60)
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}
    if hours:
        return _("%(hours)d h") % {"hours": hours}
    return _("%(minutes)d min") % {"minutes": minutes}


@dataclass(frozen=True)
class Clock:
    """The service level of one ticket as the detail page shows it to IT staff."""

    state: str  # "running", "soon", "breached", "paused"
    target: str  # "first response" or "resolution", translated
    due: object  # the due instant (None while paused)
    text: str  # "3 h 20 min left", "overdue by 1 h", "stopped: 15 h left"
    policy: str


def clock(ticket: Ticket, *, now=None) -> Clock | None:
    """None when no target is pending (no policy, none for this priority, finished)."""
    if not ticket.is_open:
        return None
    pending = _pending_target(ticket)
    if pending is None:
        return None
    now = now or timezone.now()
    left = time_left(ticket, now=now)
    target = _("first response") if pending[0] == "first_response" else _("resolution")
    if ticket.sla_paused_at is not None:
        state, text = (
            "paused",
            _("stopped while waiting for the requester: %(left)s left") % {"left": duration_text(left)},
        )
    elif left < timedelta(0):
        state, text = "breached", _("overdue by %(time)s business time") % {"time": duration_text(-left)}
    else:
        state = "soon" if sla_state(ticket.sla_due_at, now) == "soon" else "running"  # the list's threshold
        text = _("%(time)s business time left") % {"time": duration_text(left)}
    return Clock(state=state, target=target, due=ticket.sla_due_at, text=text, policy=str(ticket.sla_policy))


def promise(ticket: Ticket) -> str:
    """What the requester is promised: 'IT answers within 4 business hours.' ("" for nothing)."""
    policy = ticket.sla_policy
    if policy is None or not ticket.is_open:
        return ""
    first = policy.first_response_target(ticket.priority)
    if ticket.first_response_at is None and first is not None:
        return _("IT answers within %(time)s.") % {"time": business_duration_text(first)}
    resolution = policy.resolution_target(ticket.priority)
    if resolution is not None:
        return _("IT aims to solve this within %(time)s.") % {"time": business_duration_text(resolution)}
    return ""
