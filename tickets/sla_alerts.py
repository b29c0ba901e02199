"""Service-level warnings: at 80 % of a target and on its breach, once per ticket, target and threshold.

``run`` is called by the scheduler (``tickets.scheduled.sla_alerts``) every few minutes. It reads the
tickets due for a warning from the indexed ``sla_warning_at`` / ``sla_due_at`` columns, leaves out
those warned already (a ``JobRecord`` per ticket, target and threshold, checked in the same query),
and writes for all of them at once: the internal events on their timelines, the job records, and the
notifications through the outbox (each person's Teams/e-mail choice for "service level warnings").
So a run costs the same dozen queries for one ticket or a thousand, and a second run sends nothing.
"""

from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Case, CharField, Exists, F, OuterRef, Q, Value, When
from django.db.models.functions import Cast, Concat
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.roles import agents
from tickets import routing
from tickets.models import JobRecord, Ticket, TicketEvent

Kind = TicketEvent.Kind
THRESHOLDS = {Kind.SLA_WARNING: "sla_warning", Kind.SLA_BREACH: "sla_breach"}
BATCH = 500  # tickets per run and threshold; the rest follow on the next run


def sla_alert_recipients(ticket: Ticket, kind: str, *, team_members: dict[int, list]) -> list:
    """Who hears that a ticket's service level is at risk (``Kind.SLA_WARNING``) or breached.

    A warning goes to the assignee, or to the present members of the ticket's team when nobody is
    responsible; a breach goes to the team and the assignee. [] when that is nobody (no team, everyone
    absent): the caller then tells all IT staff. ``team_members``: team id -> present members
    (tickets.routing.present_members_by_team), read once per run so a run costs a bounded number of
    queries."""
    assignee = ticket.assignee if ticket.assignee_id is not None and ticket.assignee.is_active else None
    people = [assignee] if assignee is not None else []
    if ticket.team_id is not None and (assignee is None or kind == Kind.SLA_BREACH):
        people += [member for member in team_members.get(ticket.team_id, []) if member != assignee]
    return people


def sla_alert_text(kind: str, target: str) -> str:
    """'80 % of the first-response time used' / 'resolution target breached', translated."""
    first = target == "first_response"
    if kind == Kind.SLA_WARNING:
        return _("80 % of the first-response time used") if first else _("80 % of the resolution time used")
    return _("first-response target breached") if first else _("resolution target breached")


@dataclass
class AlertResult:
    warned: list[int] = field(default_factory=list)  # ticket ids
    breached: list[int] = field(default_factory=list)
    notifications: int = 0


def _pending_target():
    """In SQL, what ``sla_due_at`` stands for: "first_response" or "resolution" (as tickets.sla._pending_target)."""
    return Case(
        When(Q(first_response_at__isnull=True, first_response_due_at__isnull=False), then=Value("first_response")),
        default=Value("resolution"),
    )


def _due(kind: str, now):
    """Tickets whose warning of ``kind`` is due and was not given yet for their pending target."""
    moment = Q(sla_warning_at__lte=now, sla_due_at__gt=now) if kind == Kind.SLA_WARNING else Q(sla_due_at__lte=now)
    given = JobRecord.objects.filter(
        ticket=OuterRef("pk"),
        key=Concat(
            Value(f"{THRESHOLDS[kind]}:"),
            OuterRef("sla_target"),
            Value(":"),
            Cast("ticket", CharField()),
            output_field=CharField(),
        ),
    )
    return (
        Ticket.objects.open()  # a finished ticket's clock is stopped; never alert on one
        .filter(moment)
        .alias(sla_target=_pending_target())
        .annotate(sla_target_name=F("sla_target"))
        .filter(~Exists(given))
        .select_related("assignee", "requester")
        .order_by("sla_due_at", "pk")[:BATCH]
    )


def _key(kind: str, target: str, ticket_id: int) -> str:
    return f"{THRESHOLDS[kind]}:{target}:{ticket_id}"


@transaction.atomic
def run(*, now=None) -> AlertResult:
    """Give every due warning and breach notice once; bounded queries whatever the number of tickets."""
    from teams_app.sla_notifications import notify_sla_events

    now = now or timezone.now()
    result = AlertResult()
    due = [(kind, ticket) for kind in (Kind.SLA_BREACH, Kind.SLA_WARNING) for ticket in _due(kind, now)]
    teams = {ticket.team_id for _kind, ticket in due if ticket.team_id}
    team_members = routing.present_members_by_team(teams, day=timezone.localdate(now))
    staff = None
    events, records, recipients = [], [], {}
    for kind, ticket in due:
        people = sla_alert_recipients(ticket, kind, team_members=team_members)
        if not people:  # nobody responsible and no team member present: all IT staff, read once
            staff = staff if staff is not None else list(agents())
            people = staff
        target = ticket.sla_target_name
        event = TicketEvent(ticket=ticket, actor=None, kind=kind, new_value=target, is_internal=True, created_at=now)
        events.append(event)
        records.append(JobRecord(key=_key(kind, target, ticket.pk), job=THRESHOLDS[kind], ticket=ticket))
        recipients[id(event)] = people
        (result.breached if kind == Kind.SLA_BREACH else result.warned).append(ticket.pk)
    if not events:
        return result
    JobRecord.objects.bulk_create(records)  # unique keys: a concurrent run fails here and sends nothing
    TicketEvent.objects.bulk_create(events)
    result.notifications = len(notify_sla_events([(event, recipients[id(event)]) for event in events]))
    return result
