"""Demo data for ``manage.py quickstart``: a bilingual problem-source tree, demo accounts and tickets.

Everything is created through the same functions the app uses (``problem_sources`` for the tree,
``services`` for tickets), so the demo tickets carry the events a real history would have. The
services stamp everything with "now"; afterwards :func:`load_demo_data` moves each ticket's
timestamps back to a scripted point within the last six weeks, keeping every ticket's history in
order.

Loading is deterministic (one seeded ``random.Random``) and idempotent: the tree is only created
when there is no problem source at all, accounts only when their username is free, and tickets only
when no demo account has requested one yet. The accounts have well-known passwords, so this is for
DEBUG installations only; the quickstart command refuses otherwise.
"""

import bisect
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from accounts.roles import it_staff_group
from devtools import demo_self_help
from devtools.demo_content import (
    DEMO_KNOWN_ISSUE,
    DEMO_TEAMS,
    DEMO_TICKETS,
    DEMO_TREE,
    DEMO_USERS,
    PATH_SEPARATOR,
    DemoNode,
    DemoTicket,
    Step,
)
from tickets import problem_sources, services, sla
from tickets.business_time import business_time_between
from tickets.models import BusinessCalendar, Comment, ProblemSource, SlaPolicy, Team, Ticket, TicketEvent

SEED = 20250601


def tree_create(nodes: tuple[DemoNode, ...] = DEMO_TREE, *, parent: ProblemSource | None = None) -> int:
    """Create ``nodes`` and their subtrees under ``parent``; returns the number of nodes created."""
    created = 0
    for spec in nodes:
        node = problem_sources.problem_source_create(
            parent=parent,
            name_en=spec.name_en,
            name_de=spec.name_de,
            help_text_en=spec.help_text_en,
            help_text_de=spec.help_text_de,
            icon=spec.icon,
            is_selectable=spec.is_selectable,
            is_active=spec.is_active,
        )
        created += 1 + tree_create(spec.children, parent=node)
    return created


def nodes_by_path() -> dict[str, ProblemSource]:
    """Every node by its English path ("Hardware › Printer"), from one query."""
    nodes = list(ProblemSource.objects.order_by("tree_id", "lft"))
    by_pk = {node.pk: node for node in nodes}
    paths: dict[int, str] = {}
    for node in nodes:  # tree order: a parent's path is known before its children's
        parent_path = paths.get(node.parent_id)
        paths[node.pk] = f"{parent_path}{PATH_SEPARATOR}{node.name_en}" if parent_path else node.name_en
    return {path: by_pk[pk] for pk, path in paths.items()}


def users_create() -> tuple[dict, list[str]]:
    """The demo accounts by username, and the usernames created now.

    Existing accounts are left as they are (passwords are never reset); demo agents are put into
    the IT staff group in any case, because the demo tickets need them to be agents.
    """
    user_model = get_user_model()
    users, created = {}, []
    for spec in DEMO_USERS:
        user = user_model.objects.filter(username=spec.username).first()
        if user is None:
            user = user_model(
                username=spec.username,
                first_name=spec.first_name,
                last_name=spec.last_name,
                email=f"{spec.username}@example.com",
                language=spec.language,
                is_staff=spec.role == "admin",
                is_superuser=spec.role == "admin",
            )
            if spec.password:
                user.set_password(spec.password)
            else:
                user.set_unusable_password()
            user.save()
            created.append(spec.username)
        if spec.role == "agent":
            user.groups.add(it_staff_group())
        users[spec.username] = user
    return users, created


_DELAYS = {
    "take": (5, 120),
    "assign": (10, 180),
    "reply": (15, 300),
    "requester_reply": (30, 1440),
    "note": (10, 240),
    "status": (2, 60),
    "due": (1, 20),
    "recategorise": (1, 30),
    "close": (120, 2880),
    "reopen": (600, 2880),
}


def _office_hours(moment: datetime, rng: random.Random) -> datetime:
    """``moment``, or the start of the next working morning when it falls outside 8:00-18:00 Mon-Fri."""
    local = timezone.localtime(moment)
    if 8 <= local.hour < 18 and local.weekday() < 5:
        return moment
    day = local.date() + timedelta(days=1 if local.hour >= 18 else 0)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return timezone.make_aware(datetime.combine(day, time(8, rng.randint(0, 45))))


def _schedule(ticket: DemoTicket, rng: random.Random, now: datetime) -> list[datetime]:
    """Points in time for the creation and each step: weekday office hours, never in the future."""
    latest = now - timedelta(minutes=10)
    day = timezone.localdate(now) - timedelta(days=ticket.days_ago)
    while day.weekday() >= 5:  # nobody files tickets at the weekend in this company
        day -= timedelta(days=1)
    start = timezone.make_aware(datetime.combine(day, time(rng.randint(8, 15), rng.randint(0, 59))))
    if start > latest - timedelta(hours=1):
        start = latest - timedelta(minutes=rng.randint(60, 180))
    times = [start]
    for verb, actor, _argument in ticket.steps:
        kind = "requester_reply" if verb == "reply" and actor == ticket.requester else verb
        times.append(_office_hours(times[-1] + timedelta(minutes=rng.randint(*_DELAYS[kind])), rng))
    if times[-1] > latest:  # a recent ticket: squeeze its history into the time there was
        factor = (latest - start) / (times[-1] - start)
        times = [start + (moment - start) * factor for moment in times]
    return times


def _run_step(ticket: Ticket, step: Step, users: dict, nodes: dict, at: datetime) -> None:
    verb, username, argument = step
    actor = users[username]
    if verb == "take":
        services.ticket_take(ticket=ticket, agent=actor)
    elif verb == "assign":
        services.ticket_update(ticket=ticket, actor=actor, assignee=users[argument])
    elif verb in ("reply", "note"):
        services.ticket_comment(ticket=ticket, author=actor, body=argument, is_internal=verb == "note")
    elif verb == "status":
        services.ticket_update(ticket=ticket, actor=actor, status=argument)
    elif verb == "due":
        services.ticket_update(ticket=ticket, actor=actor, due_date=timezone.localdate(at) + timedelta(days=argument))
    elif verb == "recategorise":
        services.ticket_update(ticket=ticket, actor=actor, problem_source=nodes[argument])
    elif verb == "close":
        services.ticket_close(ticket=ticket, user=actor)
    elif verb == "reopen":
        services.ticket_reopen(ticket=ticket, user=actor)
    else:
        raise ValueError(f"Unknown demo step {verb!r}")


def _clock_tick() -> datetime:
    """Now, after waiting until the clock has moved on, so no two steps share a timestamp."""
    stamp = timezone.now()
    while timezone.now() <= stamp:
        pass
    return stamp


def _backdate(ticket: Ticket, step_ends: list[datetime], times: list[datetime]) -> None:
    """Move every timestamp the services wrote for ``ticket`` from its real step to the scripted time.

    ``step_ends[i]`` is the clock reading right after step ``i``; a timestamp belongs to the first
    step that ended at or after it.
    """

    def scripted(moment: datetime | None) -> datetime | None:
        return None if moment is None else times[bisect.bisect_left(step_ends, moment)]

    for model in (TicketEvent, Comment):
        by_time = defaultdict(list)
        for pk, created_at in model.objects.filter(ticket=ticket).values_list("pk", "created_at"):
            by_time[scripted(created_at)].append(pk)
        for moment, pks in by_time.items():
            model.objects.filter(pk__in=pks).update(created_at=moment)
    ticket.refresh_from_db()
    Ticket.objects.filter(pk=ticket.pk).update(
        created_at=scripted(ticket.created_at),
        updated_at=scripted(ticket.updated_at),
        resolved_at=scripted(ticket.resolved_at),
        closed_at=scripted(ticket.closed_at),
        # The first response is a comment's timestamp, so it moves exactly as that comment did.
        first_response_at=scripted(ticket.first_response_at),
    )
    _restart_sla_clock(ticket)


def _restart_sla_clock(ticket: Ticket) -> None:
    """Due times from the backdated creation (the services computed them at the real "now"); the
    clock of a waiting or finished ticket stopped at its last update or its resolution."""
    ticket = Ticket.objects.select_related("sla_policy__calendar").get(pk=ticket.pk)
    if ticket.sla_policy is None:
        return
    ticket.sla_paused_seconds, ticket.sla_paused_at = 0, None
    sla.recompute(ticket)
    if ticket.status in sla.STOPPED_STATUSES:
        stopped_at = ticket.resolved_at or ticket.closed_at or ticket.updated_at
        if ticket.status != Ticket.Status.WAITING and ticket.resolution_due_at is not None:
            left = business_time_between(
                ticket.sla_policy.calendar.working_calendar, stopped_at, ticket.resolution_due_at
            )
            ticket.sla_resolution_left_seconds = int(left.total_seconds())
        sla.stop(ticket, now=stopped_at)
    ticket.save(update_fields=sla.SLA_FIELDS)


def service_levels_create() -> int:
    """A Munich office calendar (Bavarian holidays, Christmas closure) and two policies: "Standard"
    on every root, "Urgent systems" on Accounts & access and Network. Returns the policies created."""
    office = {
        f"{day}_{edge}": value
        for day in ("monday", "tuesday", "wednesday", "thursday")
        for edge, value in (("start", time(8)), ("end", time(17)))
    }
    year = timezone.localdate().year
    calendar = BusinessCalendar(
        name="Büro München",
        time_zone="Europe/Berlin",
        holiday_country="DE",
        holiday_subdivision="BY",
        closure_days=f"{year}-12-24..{year}-12-31 Weihnachtsschließung / Christmas closure",
        friday_start=time(8),
        friday_end=time(15),
        **office,
    )
    calendar.full_clean()
    calendar.save()
    standard = SlaPolicy.objects.create(
        name="Standard",
        calendar=calendar,
        first_response_high=60,
        first_response_normal=240,
        first_response_low=480,
        resolution_high=480,
        resolution_normal=1440,
        resolution_low=2880,
    )
    urgent = SlaPolicy.objects.create(
        name="Urgent systems",
        calendar=calendar,
        first_response_high=30,
        first_response_normal=60,
        first_response_low=240,
        resolution_high=240,
        resolution_normal=480,
        resolution_low=1440,
    )
    nodes = nodes_by_path()
    with problem_sources.tree_write_lock():
        ProblemSource.objects.filter(parent=None).update(sla_policy=standard)
        ProblemSource.objects.filter(
            pk__in=[nodes[p].pk for p in ("Accounts & access", "Network") if p in nodes]
        ).update(sla_policy=urgent)
    return 2


def teams_create(users: dict) -> int:
    """The demo IT teams with their members, owning the demo tree's top-level nodes (nodes that are
    missing, as in a tree that is not the demo tree, are skipped); returns how many were created."""
    nodes = nodes_by_path()
    for spec in DEMO_TEAMS:
        team = Team.objects.create(name=spec.name)
        team.members.set([users[username] for username in spec.members])
        owned = [nodes[path].pk for path in spec.owns if path in nodes]
        ProblemSource.objects.filter(pk__in=owned).update(team=team, assignment_rule=spec.rule)
    return len(DEMO_TEAMS)


def demo_tickets_exist() -> bool:
    """The marker for "tickets already loaded": a demo account has requested a ticket."""
    return Ticket.objects.filter(requester__username__in=[user.username for user in DEMO_USERS]).exists()


def tickets_create(users: dict, *, seed: int = SEED, now: datetime | None = None) -> int:
    """Create the demo tickets with their histories; returns how many were created."""
    rng = random.Random(seed)  # noqa: S311 - spreads demo timestamps, guards no secret
    now = now or timezone.now()
    nodes = nodes_by_path()
    created = 0
    for spec in DEMO_TICKETS:
        times = _schedule(spec, rng, now)
        if not spec.sources() <= nodes.keys():  # a tree that is not the demo tree: skip what does not fit
            continue
        step_ends = []
        ticket = services.ticket_create(
            requester=users[spec.requester],
            problem_source=nodes[spec.source],
            title=spec.title,
            description=spec.description,
            priority=spec.priority,
        )
        step_ends.append(_clock_tick())
        for step, at in zip(spec.steps, times[1:], strict=True):
            _run_step(ticket, step, users, nodes, at)
            step_ends.append(_clock_tick())
        _backdate(ticket, step_ends, times)
        created += 1
    return created


# --- Teams: the bot's channels and notification choices -------------------------------------------

DEMO_TEAM = "19:demo-it-team@thread.tacv2"
DEMO_CHANNELS = ((DEMO_TEAM, ""), ("19:demo-it-support@thread.tacv2", "Support"))
# An address that resolves nowhere: the demo never posts to a real Bot Connector.
DEMO_SERVICE_URL = "https://teams-demo.invalid/"
DEMO_PREFERENCES = {
    "agent": {"ticketCreated": "chat+email", "ticketAssigned": "chat+feed"},
    "employee": {"ticketReply": "chat+feed+email"},
}


def bot_channels_create(users: dict) -> int:
    """The bot in a demo IT team with its Support channel chosen as the IT channel (shown on
    /teams/setup/ and in the admin), and a demo agent's combined notification choices; only where
    there is no channel yet. Returns how many channels were created."""
    from teams_app.models import BotChannel, NotificationPreference

    if BotChannel.objects.exists():
        return 0
    for channel_id, name in DEMO_CHANNELS:
        BotChannel.objects.create(
            channel_id=channel_id,
            channel_name=name,
            team_id=DEMO_TEAM,
            team_name="IT",
            service_url=DEMO_SERVICE_URL,
            tenant_id="00000000-0000-4000-8000-000000000000",
            is_it_channel=name == "Support",
        )
    for username, choices in DEMO_PREFERENCES.items():
        if username in users:
            for kind, ways in choices.items():
                NotificationPreference.objects.get_or_create(
                    user=users[username], kind=kind, defaults={"channel": ways}
                )
    return len(DEMO_CHANNELS)


def known_issue_create(users: dict, spec=DEMO_KNOWN_ISSUE) -> None:
    """Mark the demo known issue and let a few colleagues say it affects them too."""
    from tickets import known_issues

    ticket = Ticket.objects.filter(title=spec.title, requester__username__in=users.keys()).first()
    node = nodes_by_path().get(spec.source)
    if ticket is None or node is None or not ticket.is_open:
        return
    known_issues.known_issue_mark(
        ticket=ticket, actor=users[spec.agent], problem_source=node, status_text=spec.status_text
    )
    for username in spec.affected:
        known_issues.affected_add(ticket=ticket, user=users[username])


# --- Everything -----------------------------------------------------------------------------------


@dataclass
class DemoDataReport:
    users_created: list[str]
    nodes_created: int
    tickets_created: int
    teams_created: int = 0


@transaction.atomic
def load_demo_data(*, seed: int = SEED) -> DemoDataReport:
    """Create whatever part of the demo data is missing; safe to run again. All or nothing."""
    users, users_created = users_create()
    nodes_created = 0 if ProblemSource.objects.exists() else tree_create()
    bot_channels_create(users)
    teams_created = 0 if Team.objects.exists() else teams_create(users)  # before the tickets: they are routed
    if nodes_created and not SlaPolicy.objects.exists():
        service_levels_create()
    tickets_created = 0 if demo_tickets_exist() else tickets_create(users, seed=seed)
    # Self-help articles, "That solved it" counts and ratings (devtools.demo_self_help).
    demo_self_help.articles_create(nodes_by_path(), users["agent"])
    demo_self_help.deflections_create(nodes_by_path())
    demo_self_help.ratings_create()
    if tickets_created:
        known_issue_create(users)
    return DemoDataReport(
        users_created=users_created,
        nodes_created=nodes_created,
        tickets_created=tickets_created,
        teams_created=teams_created,
    )
