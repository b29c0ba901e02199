"""Production-sized made-up data for benchmarks: ``manage.py generate_data``.

Everything is written with bulk INSERTs and precomputed primary keys rather than through the
services, because 100,000 tickets with a million events would otherwise take hours. The rows are
nonetheless what the services would have written: every ticket starts with its ``created`` event,
every status, assignment, priority, problem-source and due-date change has its event with the
correct from→to values, every comment has its event, and each ticket's history is chronological and
ends in the ticket's current state, and what the services keep on the ticket besides
(``first_response_at``, ``reopened_count``) is what its comments and events say (:func:`history_errors`
checks the events and the reopen count).

Generated accounts have usernames starting with :data:`GENERATED_PREFIX`; that is how generated data
is recognised. The generator refuses to add data to a database with tickets filed by anyone else
(real tickets) unless forced, and refuses to run twice on the same database.

Deterministic: the same seed, sizes and ``now`` give the same rows.
"""

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.color import no_style
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from accounts.roles import it_staff_group
from devtools.data_generator_words import (
    ASPECTS,
    CATEGORIES,
    DEPARTMENTS,
    FIRST_NAMES,
    LAST_NAMES,
    NOTES,
    PROBLEMS,
    REPLIES,
    REQUESTER_REPLIES,
    SENTENCES,
    THINGS,
)
from tickets import problem_sources
from tickets.models import Comment, ProblemSource, Ticket, TicketEvent

GENERATED_PREFIX = "gen-"
SEED = 20250704
BATCH_SIZE = 5000
TICKETS_PER_CHUNK = 2000  # tickets whose rows are built and inserted together, to bound memory
LONG_CONVERSATION_EVERY = 1000  # one ticket in this many gets 50 comments and 40 other events
REOPENED_SHARE = 0.05  # of the tickets that end resolved or closed: reopened once on the way
LONG_COMMENTS, LONG_OTHER_EVENTS = 50, 40

Kind = TicketEvent.Kind
Status = Ticket.Status
Priority = Ticket.Priority

Progress = Callable[[str, int, int], None]


class GeneratorRefusedError(Exception):
    """The database is not one the generator may write to (real tickets, or generated data already)."""


@dataclass(frozen=True)
class Sizes:
    users: int = 2000  # including the agents
    agents: int = 100
    nodes: int = 500
    depth: int = 5
    tickets: int = 100_000
    comments_per_ticket: float = 3.0  # on average
    years: float = 3.0


@dataclass
class Report:
    users: int = 0
    agents: int = 0
    nodes: int = 0
    tickets: int = 0
    comments: int = 0
    events: int = 0
    status_counts: dict = field(default_factory=dict)


def is_generated_username(username: str) -> bool:
    return username.startswith(GENERATED_PREFIX)


def real_tickets_exist() -> bool:
    """Tickets that someone who is not a generated account filed: real data, not ours to mix into."""
    return Ticket.objects.exclude(requester__username__startswith=GENERATED_PREFIX).exists()


def generated_data_exists() -> bool:
    return get_user_model().objects.filter(username__startswith=GENERATED_PREFIX).exists()


# --- Random helpers -------------------------------------------------------------------------------


def _skewed_index(rng: random.Random, length: int, power: float = 1.6) -> int:
    """An index into a list where early entries are picked far more often (busy people, common topics)."""
    return min(int(length * rng.random() ** power), length - 1)


def _weighted(rng: random.Random, table: tuple[tuple[object, float], ...]):
    point = rng.random() * sum(weight for _value, weight in table)
    for value, weight in table:
        point -= weight
        if point < 0:
            return value
    return table[-1][0]


# --- Users ----------------------------------------------------------------------------------------


def users_create(sizes: Sizes, rng: random.Random, *, password: str | None) -> tuple[list, list]:
    """Generated agents (members of the IT staff group) and employees, in two bulk INSERTs."""
    user_model = get_user_model()
    # Hashing once keeps 2,000 accounts fast; None leaves them without a usable password.
    password_hash = make_password(password) if password else make_password(None)
    users = []
    for number in range(1, sizes.users + 1):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        username = f"{GENERATED_PREFIX}{number:05d}"
        users.append(
            user_model(
                username=username,
                first_name=first,
                last_name=last,
                email=f"{username}@example.com",
                password=password_hash,
                department="IT" if number <= sizes.agents else rng.choice(DEPARTMENTS),
                language=rng.choice(("", "", "en", "de")),
            )
        )
    users = user_model.objects.bulk_create(users, batch_size=BATCH_SIZE)
    agents, employees = users[: sizes.agents], users[sizes.agents :]
    membership = user_model.groups.through
    group = it_staff_group()
    membership.objects.bulk_create([membership(user_id=agent.pk, group_id=group.pk) for agent in agents])
    return agents, employees


# --- The problem-source tree ----------------------------------------------------------------------


def _level_sizes(total: int, depth: int) -> list[int]:
    """How many nodes each level gets: few roots, widening towards the leaves."""
    weights = [2**level for level in range(depth)]
    weights[0] = max(1, round(total / 80))  # about 6 roots for 500 nodes
    scale = total / sum(weights)
    sizes = [max(1, round(weight * scale)) for weight in weights]
    sizes[0] = min(sizes[0], len(CATEGORIES) * 4, total)
    sizes[-1] += total - sum(sizes)
    return sizes


def tree_specs(sizes: Sizes, rng: random.Random) -> list[problem_sources.NewNode]:
    """A tree of ``sizes.nodes`` nodes, exactly ``sizes.depth`` levels deep."""
    levels: list[list[problem_sources.NewNode]] = []
    for level, count in enumerate(_level_sizes(sizes.nodes, sizes.depth)):
        nodes = []
        for number in range(count):
            if level == 0:
                name_en, name_de, icon = CATEGORIES[number % len(CATEGORIES)]
                if number >= len(CATEGORIES):
                    name_en, name_de = f"{name_en} {number // len(CATEGORIES) + 1}", f"{name_de} {number // 8 + 1}"
                fields = {"name_en": name_en, "name_de": name_de, "icon": icon}
            else:
                words = THINGS if level == 1 else ASPECTS
                name_en, name_de = rng.choice(words)
                fields = {"name_en": name_en, "name_de": name_de, "icon": ""}
            fields["help_text_en"] = f"Everything about {fields['name_en'].lower()}." if level < 2 else ""
            fields["help_text_de"] = f"Alles rund um {fields['name_de']}." if level < 2 else ""
            # A few retired nodes, and "other / not sure" inner nodes that can be chosen themselves.
            fields["is_active"] = level == 0 or rng.random() > 0.03
            fields["is_selectable"] = level > 0 and rng.random() < 0.1
            node = problem_sources.NewNode(fields=fields)
            nodes.append(node)
            if level:
                # Every parent gets a first child before any gets a second, so each level is reached.
                parent = levels[-1][number] if number < len(levels[-1]) else rng.choice(levels[-1])
                parent.children.append(node)
        levels.append(nodes)
    return levels[0]


def _pickable(nodes: list[ProblemSource]) -> list[ProblemSource]:
    """Nodes a ticket can be filed on: active with active ancestors, a leaf or selectable."""
    by_pk = {node.pk: node for node in nodes}
    has_active_children = {node.parent_id for node in nodes if node.is_active}
    reachable = {}
    for node in nodes:  # tree order: parents come first
        reachable[node.pk] = node.is_active and (node.parent_id is None or reachable[node.parent_id])
    return [
        by_pk[pk] for pk, ok in reachable.items() if ok and (by_pk[pk].is_selectable or pk not in has_active_children)
    ]


# --- Ticket histories -----------------------------------------------------------------------------


@dataclass
class _History:
    """One ticket's rows under construction, with the state its events have reached so far."""

    ticket: Ticket
    now: datetime
    at: datetime
    comments: list = field(default_factory=list)
    events: list = field(default_factory=list)

    def event(self, kind: str, actor, *, old="", new="", comment=None, is_internal=False):
        self.events.append(
            TicketEvent(
                ticket_id=self.ticket.pk,
                actor_id=actor,
                kind=kind,
                old_value="" if old is None else str(old),
                new_value="" if new is None else str(new),
                comment=comment,
                is_internal=is_internal,
                created_at=self.at,
            )
        )

    def wait(self, rng: random.Random, minutes: float) -> None:
        self.at += timedelta(minutes=rng.expovariate(1 / minutes) + 1)

    def status(self, actor, status: str) -> None:
        """The status change with its event, as services._set_status makes it."""
        ticket = self.ticket
        self.event(Kind.STATUS, actor, old=ticket.status, new=status)
        if ticket.status in (Status.RESOLVED, Status.CLOSED) and status in Status.open_values():
            ticket.reopened_count += 1
        ticket.status = status
        if status == Status.RESOLVED:
            ticket.resolved_at, ticket.closed_at = self.at, None
        elif status == Status.CLOSED:
            ticket.closed_at = self.at
            ticket.resolved_at = ticket.resolved_at or self.at
        else:
            ticket.resolved_at = ticket.closed_at = None

    def assign(self, actor, agent) -> None:
        self.event(Kind.ASSIGNMENT, actor, old=self.ticket.assignee_id, new=agent)
        self.ticket.assignee_id = agent

    def comment(self, rng: random.Random, author, *, internal: bool, texts: tuple[str, ...]) -> None:
        body = " ".join(rng.sample(texts, k=min(len(texts), rng.randint(1, 3))))
        comment = Comment(
            ticket_id=self.ticket.pk, author_id=author, body=body, is_internal=internal, created_at=self.at
        )
        self.comments.append(comment)
        self.event(Kind.INTERNAL_NOTE if internal else Kind.COMMENT, author, comment=comment, is_internal=internal)


# Final status by the ticket's age in days: recent tickets are still being worked on.
_STATUS_BY_AGE = (
    (2, ((Status.NEW, 45), (Status.IN_PROGRESS, 38), (Status.WAITING, 10), (Status.RESOLVED, 7))),
    (14, ((Status.NEW, 8), (Status.IN_PROGRESS, 35), (Status.WAITING, 17), (Status.RESOLVED, 25), (Status.CLOSED, 15))),
    (60, ((Status.NEW, 1), (Status.IN_PROGRESS, 5), (Status.WAITING, 4), (Status.RESOLVED, 10), (Status.CLOSED, 80))),
    (math.inf, ((Status.IN_PROGRESS, 0.4), (Status.WAITING, 0.4), (Status.CLOSED, 99.2))),
)
_PRIORITIES = ((Priority.LOW, 25), (Priority.NORMAL, 60), (Priority.HIGH, 15))


class _Picker:
    """Everything a ticket's history is drawn from."""

    def __init__(self, sizes: Sizes, agents, employees, sources, *, now: datetime, seed: int):
        self.sizes = sizes
        self.now = now
        # A stream of its own, so that drawing the reopens changes no ticket but the reopened ones.
        self.reopen_rng = random.Random(f"{seed}-reopen")  # noqa: S311 - made-up data, guards no secret
        self.agents = [agent.pk for agent in agents]
        self.agent_set = frozenset(self.agents)
        self.employees = [employee.pk for employee in employees] or self.agents
        self.sources = sources

    def agent(self, rng, other_than=None) -> int:
        agent = self.agents[_skewed_index(rng, len(self.agents), 1.3)]
        if agent == other_than and len(self.agents) > 1:
            agent = self.agents[(self.agents.index(agent) + 1) % len(self.agents)]
        return agent


def _created_times(sizes: Sizes, rng: random.Random, now: datetime, zone) -> list[datetime]:
    """Filing times over ``sizes.years``, more in recent months (a growing company), in office hours."""
    span = timedelta(days=365 * sizes.years)
    times = []
    for _number in range(sizes.tickets):
        # sqrt: the density grows linearly towards now.
        moment = now - span * (1 - math.sqrt(rng.random()))
        local = moment.astimezone(zone)
        while local.weekday() >= 5:
            local -= timedelta(days=1)
        local = local.replace(hour=rng.randint(7, 17), minute=rng.randint(0, 59), second=rng.randint(0, 59))
        moment = local.astimezone(moment.tzinfo)
        times.append(min(moment, now - timedelta(minutes=rng.randint(5, 120))))
    times.sort()
    return times


def _ticket_history(number: int, pk: int, created: datetime, rng: random.Random, pick: _Picker) -> _History:
    now = pick.now
    age_days = (now - created).total_seconds() / 86400
    final = _weighted(rng, next(table for limit, table in _STATUS_BY_AGE if age_days < limit))
    source = pick.sources[_skewed_index(rng, len(pick.sources), 1.4)]
    requester = pick.employees[_skewed_index(rng, len(pick.employees), 1.5)]
    priority = _weighted(rng, _PRIORITIES)
    thing = source.name_en
    title = f"{thing} {rng.choice(PROBLEMS)}"
    if rng.random() < 0.3:
        title += f" ({rng.choice(('floor', 'room', 'Etage', 'Raum'))} {rng.randint(1, 6)})"
    ticket = Ticket(
        pk=pk,
        title=title[:200],
        description=" ".join(rng.sample(SENTENCES, k=rng.randint(2, 5))),
        requester_id=requester,
        assignee_id=None,
        problem_source_id=source.pk,
        status=Status.NEW,
        priority=priority,
        due_date=None,
        created_at=created,
        updated_at=created,
    )
    history = _History(ticket=ticket, now=now, at=created)
    history.event(Kind.CREATED, requester, new=source.pk)
    long = number % LONG_CONVERSATION_EVERY == LONG_CONVERSATION_EVERY // 2
    if long:
        _long_conversation(history, rng, pick, requester)
    elif final != Status.NEW or rng.random() < 0.3:
        _worked_ticket(history, rng, pick, requester, final)
    _fit_into_past(history, created, now)
    ticket.updated_at = history.events[-1].created_at
    agents = pick.agent_set
    ticket.first_response_at = min(
        (
            c.created_at
            for c in history.comments
            if not c.is_internal and c.author_id in agents and c.author_id != requester
        ),
        default=None,
    )
    return history


def _worked_ticket(history: _History, rng, pick: _Picker, requester: int, final: str) -> None:
    ticket = history.ticket
    history.wait(rng, 90)
    agent = pick.agent(rng)
    if final == Status.NEW:  # a dispatcher assigned it, nobody has started
        history.assign(pick.agent(rng), agent)
        return
    history.assign(agent, agent)  # "take it": assignment and In progress at the same time
    history.status(agent, Status.IN_PROGRESS)
    if rng.random() < 0.15:
        history.wait(rng, 20)
        new = rng.choice([value for value in Priority.values if value != ticket.priority])
        history.event(Kind.PRIORITY, agent, old=ticket.priority, new=new)
        ticket.priority = new
    if rng.random() < 0.08:
        history.wait(rng, 15)
        other = pick.sources[_skewed_index(rng, len(pick.sources), 1.4)]
        if other.pk != ticket.problem_source_id:
            history.event(Kind.PROBLEM_SOURCE, agent, old=ticket.problem_source_id, new=other.pk)
            ticket.problem_source_id = other.pk
    if rng.random() < 0.3:
        history.wait(rng, 30)
        due = timezone.localdate(history.at) + timedelta(days=rng.randint(1, 14))
        history.event(Kind.DUE_DATE, agent, old="", new=due.isoformat())
        ticket.due_date = due
    comments = int(rng.expovariate(1 / pick.sizes.comments_per_ticket) + 0.5) if pick.sizes.comments_per_ticket else 0
    waits = sum(rng.random() < 0.5 for _ in range(2))
    for number in range(comments):
        history.wait(rng, 240)
        if number % 2 == 0:
            internal = rng.random() < 0.25
            history.comment(rng, agent, internal=internal, texts=NOTES if internal else REPLIES)
            if not internal and waits and ticket.status == Status.IN_PROGRESS:
                history.status(agent, Status.WAITING)
        else:
            history.comment(rng, requester, internal=False, texts=REQUESTER_REPLIES)
            if ticket.status == Status.WAITING:
                waits -= 1
                history.wait(rng, 60)
                history.status(agent, Status.IN_PROGRESS)
    if rng.random() < 0.1:
        history.wait(rng, 120)
        other = pick.agent(rng, other_than=agent)
        if other != agent:
            history.assign(other, other)
            agent = other
    if final == Status.IN_PROGRESS and ticket.status == Status.WAITING:
        history.wait(rng, 60)
        history.status(agent, Status.IN_PROGRESS)
    elif final != ticket.status and final in (Status.WAITING, Status.RESOLVED, Status.CLOSED):
        history.wait(rng, 240)
        history.status(agent, Status.RESOLVED if final == Status.CLOSED else final)
        if ticket.status == Status.RESOLVED and pick.reopen_rng.random() < REOPENED_SHARE:
            _reopen(history, pick.reopen_rng, requester, agent)
    if final == Status.CLOSED:
        history.wait(rng, 1440)
        history.status(requester if rng.random() < 0.4 else agent, Status.CLOSED)


def _reopen(history: _History, rng, requester: int, agent: int) -> None:
    """The requester says the problem is back and reopens the ticket; its agent resolves it again."""
    history.wait(rng, 720)
    history.comment(rng, requester, internal=False, texts=REQUESTER_REPLIES)
    history.status(requester, Status.IN_PROGRESS)  # as ticket_reopen does for an assigned ticket
    history.wait(rng, 240)
    history.status(agent, Status.RESOLVED)


def _long_conversation(history: _History, rng, pick: _Picker, requester: int) -> None:
    """Exactly LONG_COMMENTS comments and LONG_OTHER_EVENTS other events (the created one included)."""
    ticket = history.ticket
    agent = pick.agent(rng)
    history.wait(rng, 30)
    history.assign(agent, agent)
    history.status(agent, Status.IN_PROGRESS)
    others = 3  # created, assignment, status

    def change(step: int) -> None:
        history.wait(rng, 10)
        if step % 4 in (0, 1):
            history.status(agent, Status.WAITING if ticket.status == Status.IN_PROGRESS else Status.IN_PROGRESS)
        elif step % 4 == 2:
            new = Priority.HIGH if ticket.priority != Priority.HIGH else Priority.NORMAL
            history.event(Kind.PRIORITY, agent, old=ticket.priority, new=new)
            ticket.priority = new
        else:
            due = timezone.localdate(history.at) + timedelta(days=rng.randint(1, 10))
            old = ticket.due_date.isoformat() if ticket.due_date else ""
            history.event(Kind.DUE_DATE, agent, old=old, new=due.isoformat())
            ticket.due_date = due

    for number in range(LONG_COMMENTS):
        history.wait(rng, 60)
        if number % 2 == 0:
            internal = number % 6 == 0
            history.comment(rng, agent, internal=internal, texts=NOTES if internal else REPLIES)
        else:
            history.comment(rng, requester, internal=False, texts=REQUESTER_REPLIES)
        if number % 3 == 2 and others < LONG_OTHER_EVENTS:
            change(others)
            others += 1
    while others < LONG_OTHER_EVENTS:
        change(others)
        others += 1


def _fit_into_past(history: _History, created: datetime, now: datetime) -> None:
    """Squeeze a history that would reach into the future into the time there was, keeping its order."""
    last = history.events[-1].created_at
    latest = now - timedelta(minutes=1)
    if last <= latest:
        return
    factor = (latest - created) / (last - created)
    for row in (*history.events, *history.comments):
        row.created_at = created + (row.created_at - created) * factor
    ticket = history.ticket
    for name in ("resolved_at", "closed_at"):
        moment = getattr(ticket, name)
        if moment is not None:
            setattr(ticket, name, created + (moment - created) * factor)


# --- Everything -----------------------------------------------------------------------------------


def _next_pk(model) -> int:
    return (model.objects.aggregate(last=Max("pk"))["last"] or 0) + 1


def generate(
    sizes: Sizes = Sizes(),
    *,
    seed: int = SEED,
    now: datetime | None = None,
    password: str | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> Report:
    """Create the users, tree, tickets, comments and events in one transaction; all or nothing."""
    if sizes.agents < 1 or sizes.users < sizes.agents or sizes.nodes < sizes.depth or sizes.depth < 1:
        raise ValueError("Need at least one agent, no more agents than users, and a node per tree level.")
    if generated_data_exists():
        raise GeneratorRefusedError("This database already has generated data; use a fresh database.")
    if not force and real_tickets_exist():
        raise GeneratorRefusedError(
            "This database has real tickets (filed by accounts that were not generated); refusing to mix "
            "generated data into them. Use a separate database, or force it."
        )
    progress = progress or (lambda label, done, total: None)
    rng = random.Random(seed)  # noqa: S311 - made-up data, guards no secret
    now = now or timezone.now()
    zone = ZoneInfo(settings.TIME_ZONE)
    report = Report()
    with transaction.atomic():
        progress("users", 0, 1)
        agents, employees = users_create(sizes, rng, password=password)
        report.users, report.agents = len(agents) + len(employees), len(agents)
        progress("users", 1, 1)

        progress("problem sources", 0, 1)
        nodes = problem_sources.problem_trees_bulk_create(tree_specs(sizes, rng))
        report.nodes = len(nodes)
        progress("problem sources", 1, 1)

        pick = _Picker(sizes, agents, employees, _pickable(nodes), now=now, seed=seed)
        created_times = _created_times(sizes, rng, now, zone)
        ticket_pk, comment_pk, event_pk = _next_pk(Ticket), _next_pk(Comment), _next_pk(TicketEvent)
        progress("tickets", 0, sizes.tickets)
        for start in range(0, sizes.tickets, TICKETS_PER_CHUNK):
            tickets, comments, events = [], [], []
            for number in range(start, min(start + TICKETS_PER_CHUNK, sizes.tickets)):
                history = _ticket_history(number, ticket_pk, created_times[number], rng, pick)
                ticket_pk += 1
                tickets.append(history.ticket)
                for comment in history.comments:
                    comment.pk, comment_pk = comment_pk, comment_pk + 1
                comments.extend(history.comments)
                for event in history.events:
                    event.pk, event_pk = event_pk, event_pk + 1
                events.extend(history.events)
                status = history.ticket.status
                report.status_counts[status] = report.status_counts.get(status, 0) + 1
            Ticket.objects.bulk_create(tickets, batch_size=BATCH_SIZE)
            Comment.objects.bulk_create(comments, batch_size=BATCH_SIZE)
            TicketEvent.objects.bulk_create(events, batch_size=BATCH_SIZE)
            report.tickets += len(tickets)
            report.comments += len(comments)
            report.events += len(events)
            progress("tickets", report.tickets, sizes.tickets)
        _reset_sequences()
    _analyze()
    return report


def _reset_sequences() -> None:
    """The primary keys above were set explicitly; move PostgreSQL's sequences past them."""
    statements = connection.ops.sequence_reset_sql(no_style(), [Ticket, Comment, TicketEvent])
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def _analyze() -> None:
    """Fresh planner statistics (and, on PostgreSQL, a visibility map for index-only scans)."""
    tables = [model._meta.db_table for model in (Ticket, Comment, TicketEvent, ProblemSource, get_user_model())]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            for table in tables:
                cursor.execute(f'VACUUM (ANALYZE) "{table}"')
        else:
            cursor.execute("ANALYZE")


def history_errors(ticket: Ticket, events: list[TicketEvent], comments: dict[int, Comment]) -> list[str]:
    """Where a ticket's events do not tell its story: [] means consistent. ``comments`` by pk."""
    errors = []
    where = f"ticket {ticket.pk}"
    if not events or events[0].kind != Kind.CREATED:
        return [f"{where}: the first event is not 'created'"]
    keys = [(event.created_at, event.pk) for event in events]
    if keys != sorted(keys):
        errors.append(f"{where}: events out of order")
    state = {
        Kind.STATUS: Status.NEW,
        Kind.ASSIGNMENT: "",
        Kind.PRIORITY: None,
        Kind.PROBLEM_SOURCE: events[0].new_value,
        Kind.DUE_DATE: "",
    }
    for event in events[1:]:
        if event.kind in (Kind.COMMENT, Kind.INTERNAL_NOTE):
            comment = comments.get(event.comment_id)
            if comment is None or comment.ticket_id != ticket.pk:
                errors.append(f"{where}: event {event.pk} points at no comment of this ticket")
            elif (comment.is_internal, comment.author_id, comment.created_at) != (
                event.is_internal,
                event.actor_id,
                event.created_at,
            ) or comment.is_internal != (event.kind == Kind.INTERNAL_NOTE):
                errors.append(f"{where}: event {event.pk} does not match its comment")
            continue
        if event.kind == Kind.CREATED:
            errors.append(f"{where}: a second 'created' event")
            continue
        if state[event.kind] is not None and event.old_value != state[event.kind]:
            errors.append(
                f"{where}: {event.kind} event {event.pk} starts at {event.old_value!r}, not {state[event.kind]!r}"
            )
        state[event.kind] = event.new_value
    final = {
        Kind.STATUS: ticket.status,
        Kind.ASSIGNMENT: str(ticket.assignee_id or ""),
        Kind.PROBLEM_SOURCE: str(ticket.problem_source_id),
        Kind.DUE_DATE: ticket.due_date.isoformat() if ticket.due_date else "",
    }
    if state[Kind.PRIORITY] is not None:
        final[Kind.PRIORITY] = str(ticket.priority)
    for kind, value in final.items():
        if state[kind] != value:
            errors.append(f"{where}: {kind} events end at {state[kind]!r}, the ticket has {value!r}")
    reopens = sum(
        event.kind == Kind.STATUS
        and event.old_value in (Status.RESOLVED, Status.CLOSED)
        and event.new_value in Status.open_values()
        for event in events
    )
    if ticket.reopened_count != reopens:
        errors.append(f"{where}: reopened_count is {ticket.reopened_count}, the events reopen it {reopens} times")
    if ticket.updated_at != events[-1].created_at:
        errors.append(f"{where}: updated_at is not the time of the last event")
    if (ticket.status in (Status.RESOLVED, Status.CLOSED)) != (ticket.resolved_at is not None):
        errors.append(f"{where}: resolved_at does not fit status {ticket.status}")
    if (ticket.status == Status.CLOSED) != (ticket.closed_at is not None):
        errors.append(f"{where}: closed_at does not fit status {ticket.status}")
    return errors
