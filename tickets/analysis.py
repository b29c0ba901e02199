"""The figures of the analysis page: where IT's time goes, per problem source.

Every figure is computed by the database: conditional aggregates over the ticket table, a subtree
selected by the MPTT range (``tree_id``/``lft``/``rght``), the children of the chosen node as one
``GROUP BY`` over a ``CASE`` of their ranges. No ticket is loaded into Python, with one documented
exception: percentiles on SQLite (development only), see :func:`_percentiles_in_python`.

Definitions, shared with the ticket list's filters (``TicketFilterForm``) so that every figure
links to exactly the tickets it counts:

- *opened* in a period: ``created_at`` within it;
- *finished* ("closed") in a period: ``resolved_at`` (or ``closed_at`` when there is none) within it;
- *backlog*: open now (new, in progress, waiting), whatever the period;
- *first agent response*: the earliest public comment by an agent, i.e. a member of the IT staff
  group or a superuser, who is not the ticket's requester. It is stored in
  ``Ticket.first_response_at`` when the reply is written (``services.ticket_comment``), so history
  does not change when someone leaves; migration 0005 filled it for older tickets from the agents
  as they were then, with :func:`first_agent_response_at`;
- *time to first response*: first agent response − ``created_at``, over the tickets opened in the
  period that have one (the others are counted as "without response");
- *resolution time*: ``resolved_at`` (or ``closed_at``) − ``created_at``, over the tickets
  finished in the period;
- *reopened*: the ticket has a status event from resolved or closed to an open status;
- *filed on a general topic*: the ticket's problem source has children now (a "not sure" or
  selectable inner node), a hint that the tree needs a new child.

Periods are whole days in the current time zone (the site's ``TIME_ZONE``), exactly as the ticket
list's date filters read them.
"""

import math
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import NotSupportedError, connections, transaction
from django.db.models import (
    Aggregate,
    BooleanField,
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    IntegerField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncWeek
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tickets.models import Comment, ProblemSource, Ticket, TicketEvent

MAX_PERIOD_DAYS = 3 * 366
"""Longest period the page computes (C16); the previous period doubles the rows read."""

PERCENTILES = (0.5, 0.9)


# --- Expressions ----------------------------------------------------------------------------------


class Seconds(Func):
    """Seconds from ``start`` to ``end`` as a float; NULL when either is NULL."""

    arity = 2
    output_field = FloatField()

    def __init__(self, end, start, **extra):
        super().__init__(end, start, **extra)

    def as_sql(self, compiler, connection, **extra_context):
        raise NotSupportedError("Seconds() is implemented for PostgreSQL and SQLite only.")

    def as_postgresql(self, compiler, connection, **extra_context):
        return super().as_sql(
            compiler,
            connection,
            template="EXTRACT(EPOCH FROM (%(expressions)s))::double precision",
            arg_joiner=" - ",
            **extra_context,
        )

    def as_sqlite(self, compiler, connection, **extra_context):
        # Django stores aware datetimes as UTC text, which julianday() reads; days → seconds.
        return super().as_sql(
            compiler,
            connection,
            template="((julianday(%(expressions)s)) * 86400.0)",
            arg_joiner=") - julianday(",
            **extra_context,
        )


class PercentileCont(Aggregate):
    """PostgreSQL's ``percentile_cont``: the value below which ``fraction`` of the rows lie,
    interpolated linearly between the two nearest rows. NULLs are ignored."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, fraction: float, expression, **extra):
        fraction = float(fraction)
        if not 0 <= fraction <= 1:
            raise ValueError("fraction must lie between 0 and 1")
        # A float we formatted ourselves, never user input: safe to place in the SQL text.
        super().__init__(expression, fraction=repr(fraction), **extra)


def finished_at():
    """When the ticket was resolved, or closed when it was closed without being resolved."""
    return Coalesce("resolved_at", "closed_at")


def resolution_seconds():
    return Seconds(finished_at(), F("created_at"))


def agent_users() -> QuerySet:
    """Everyone whose comments count as agent responses: IT staff group members and superusers, as
    they are now, active or not (so the history does not change when someone leaves)."""
    return get_user_model().objects.filter(Q(is_superuser=True) | Q(groups__name=settings.IT_STAFF_GROUP))


def first_agent_response_at(agent_ids: list[int] | None = None):
    """The time of the ticket's earliest public comment by an agent who is not its requester,
    computed from the comments: what ``Ticket.first_response_at`` stores, for recomputing it after
    timestamps were moved (demo data) and for checking it. The figures read the column.

    ``agent_ids``: the agents' primary keys, read beforehand; by default a subquery.
    """
    authors = agent_ids if agent_ids is not None else agent_users().values("pk")
    first = (
        Comment.objects.filter(ticket=OuterRef("pk"), is_internal=False, author__in=authors)
        .exclude(author=OuterRef("requester"))
        .order_by()
        .values("ticket")
        .annotate(first=Min("created_at"))
        .values("first")
    )
    return Subquery(first)


def was_reopened():
    """The ticket went from resolved or closed back to an open status at least once."""
    return Exists(
        TicketEvent.objects.filter(
            ticket=OuterRef("pk"),
            kind=TicketEvent.Kind.STATUS,
            old_value__in=[Ticket.Status.RESOLVED, Ticket.Status.CLOSED],
            new_value__in=Ticket.Status.open_values(),
        )
    )


FILED_ON_GENERAL_TOPIC = Q(problem_source__rght__gt=F("problem_source__lft") + 1)
"""The ticket's problem source has children (MPTT: more than one number between lft and rght)."""


class ResolutionBin(NamedTuple):
    key: str  # URL value of the ticket list's ``resolution`` filter
    label: str
    lower: int | None  # seconds, inclusive; None: no lower bound
    upper: int | None  # seconds, exclusive; None: no upper bound

    def q(self, name: str = "resolution_seconds") -> Q:
        q = Q()
        if self.lower is not None:
            q &= Q(**{f"{name}__gte": self.lower})
        if self.upper is not None:
            q &= Q(**{f"{name}__lt": self.upper})
        return q


HOUR, DAY = 3600, 86400
RESOLUTION_BINS = (
    ResolutionBin("1h", _("< 1 hour"), None, HOUR),
    ResolutionBin("4h", _("1–4 hours"), HOUR, 4 * HOUR),
    ResolutionBin("1d", _("4–24 hours"), 4 * HOUR, DAY),
    ResolutionBin("3d", _("1–3 days"), DAY, 3 * DAY),
    ResolutionBin("1w", _("3–7 days"), 3 * DAY, 7 * DAY),
    ResolutionBin("4w", _("1–4 weeks"), 7 * DAY, 28 * DAY),
    ResolutionBin("more", _("> 4 weeks"), 28 * DAY, None),
)
RESOLUTION_BINS_BY_KEY = {resolution_bin.key: resolution_bin for resolution_bin in RESOLUTION_BINS}


# --- Periods --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Whole days from ``start`` to ``end``, both included, in the current time zone."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> "Period":
        """The period of the same length that ends the day before this one starts."""
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def bounds(self) -> tuple[datetime, datetime]:
        """[first midnight, midnight after the last day) as aware datetimes; DST-safe."""
        tz = timezone.get_current_timezone()
        return (
            datetime.combine(self.start, time.min, tzinfo=tz),
            datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=tz),
        )

    def weeks(self) -> list[date]:
        """The Mondays of the weeks that overlap the period."""
        monday = self.start - timedelta(days=self.start.weekday())
        return [monday + timedelta(weeks=n) for n in range((self.end - monday).days // 7 + 1)]


# --- Figures --------------------------------------------------------------------------------------


@dataclass
class Figures:
    """The figures of one row: a node's subtree, one child's subtree, or the tickets on a node itself."""

    opened: int = 0
    closed: int = 0
    backlog: int = 0
    unassigned: int = 0
    without_response: int = 0
    reopened: int = 0
    on_general_topic: int = 0
    response_median: float | None = None  # seconds
    response_p90: float | None = None
    resolution_median: float | None = None
    resolution_p90: float | None = None
    opened_previous: int = 0

    @property
    def reopen_rate(self) -> float | None:
        return self.reopened / self.opened if self.opened else None

    @property
    def general_topic_share(self) -> float | None:
        return self.on_general_topic / self.opened if self.opened else None

    @property
    def opened_trend(self) -> float | None:
        """Change of *opened* against the previous period, as a fraction; None without a baseline."""
        return trend(self.opened, self.opened_previous)


def trend(current: float | None, previous: float | None) -> float | None:
    if current is None or not previous:
        return None
    return (current - previous) / previous


@dataclass
class Row:
    kind: str  # "total": the node's subtree; "child": a child's subtree; "direct": on the node itself
    node: ProblemSource | None  # None: the total over all problem sources
    figures: Figures
    has_children: bool = False


@dataclass
class Week:
    monday: date
    opened: int = 0
    closed: int = 0


@dataclass
class Analysis:
    node: ProblemSource | None  # None: all problem sources (the virtual root)
    path: list[ProblemSource]
    period: Period
    total: Figures
    previous: Figures  # the total in the previous period (its backlog is not computed)
    rows: list[Row]  # the total first, then the children in tree order, then "directly on the node"
    weeks: list[Week]
    histogram: list[tuple[ResolutionBin, int]]
    notes: dict = field(default_factory=dict)

    @property
    def children(self) -> list[Row]:
        return [row for row in self.rows if row.kind != "total"]


def _counts(period: Period, *, scope: Q, prefix: str = "", full: bool = True) -> dict[str, Aggregate]:
    start, end = period.bounds()
    opened = scope & Q(created_at__gte=start, created_at__lt=end)
    aggregates = {f"{prefix}opened": Count("pk", filter=opened)}
    if full:
        aggregates.update(
            {
                f"{prefix}closed": Count("pk", filter=scope & Q(finished_at__gte=start, finished_at__lt=end)),
                f"{prefix}without_response": Count("pk", filter=opened & Q(first_response_at__isnull=True)),
                f"{prefix}reopened": Count("pk", filter=opened & Q(was_reopened=True)),
                f"{prefix}on_general_topic": Count("pk", filter=opened & Q(is_general_topic=True)),
            }
        )
    return aggregates


def _backlog(*, scope: Q, prefix: str = "") -> dict[str, Aggregate]:
    open_now = scope & Q(status__in=Ticket.Status.open_values())
    return {
        f"{prefix}backlog": Count("pk", filter=open_now),
        f"{prefix}unassigned": Count("pk", filter=open_now & Q(assignee__isnull=True)),
    }


def _percentile_aggregates(period: Period, *, scope: Q, prefix: str = "") -> dict[str, Aggregate]:
    """percentile_cont aggregates (PostgreSQL) for the response and resolution times of ``period``."""
    start, end = period.bounds()
    opened = scope & Q(created_at__gte=start, created_at__lt=end)
    finished = scope & Q(finished_at__gte=start, finished_at__lt=end)
    aggregates = {}
    for fraction, name in zip(PERCENTILES, ("median", "p90"), strict=True):
        aggregates[f"{prefix}response_{name}"] = PercentileCont(fraction, F("response_seconds"), filter=opened)
        aggregates[f"{prefix}resolution_{name}"] = PercentileCont(fraction, F("resolution_seconds"), filter=finished)
    return aggregates


def percentile_cont(ordered: list[float], fraction: float) -> float | None:
    """What PostgreSQL's percentile_cont returns for these values (sorted ascending)."""
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    lower = math.floor(position)
    upper = math.ceil(position)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def _percentiles_in_python(tickets: QuerySet, periods: dict[str, Period]) -> dict[tuple[str, object], dict]:
    """SQLite has no percentile aggregate. For development databases only, fetch the durations of
    the tickets in question (two columns, one row per ticket opened or finished in the periods) and
    compute the same interpolation as PostgreSQL's percentile_cont. PostgreSQL never comes here.

    Returns {(period name, bucket): {"response_median": …, …}}; bucket None is the whole node.
    """
    durations: dict[tuple[str, object, str], list[float]] = defaultdict(list)
    earliest = min(period.bounds()[0] for period in periods.values())
    queries = {
        "response": (
            "created_at",
            "response_seconds",
            tickets.filter(created_at__gte=earliest, response_seconds__isnull=False),
        ),
        "resolution": ("finished_at", "resolution_seconds", tickets.filter(finished_at__gte=earliest)),
    }
    for figure, (moment, duration, rows) in queries.items():
        for bucket, at, seconds in rows.values_list("bucket", moment, duration):
            for name, period in periods.items():
                start, end = period.bounds()
                if start <= at < end:
                    durations[(name, bucket, figure)].append(seconds)
                    durations[(name, None, figure)].append(seconds)
    result: dict[tuple[str, object], dict] = defaultdict(dict)
    for (name, bucket, figure), values in durations.items():
        values.sort()
        for fraction, label in zip(PERCENTILES, ("median", "p90"), strict=True):
            result[(name, bucket)][f"{figure}_{label}"] = percentile_cont(values, fraction)
    return result


def _figures(values: dict, *, prefix: str = "") -> Figures:
    names = [name for name in Figures.__dataclass_fields__ if name != "opened_previous"]
    return Figures(**{name: values[prefix + name] for name in names if prefix + name in values})


@contextmanager
def _without_jit(using: str) -> Iterator[None]:
    """PostgreSQL's JIT compiler reads the correlated subqueries' large cost estimates as a reason to
    compile the aggregates, which took 1–2 s at 100,000 tickets for a query that runs in 0.15 s
    (see ``manage.py benchmark_analysis``). Off for these queries only: SET LOCAL ends with the
    transaction."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(using=using):
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
        yield


def analyse(*, tickets: QuerySet, node: ProblemSource | None, period: Period) -> Analysis:
    """All figures for ``node`` (None: every problem source) and its children in ``period``.

    ``tickets`` is the caller's visible queryset (``Ticket.objects.visible_to(user)``). A fixed
    number of queries, whatever the number of tickets: the node and its children (2), the node's
    figures for both periods (1), one GROUP BY for the children (1), the weeks (2), and on SQLite two
    more for the percentiles (on PostgreSQL, one to switch JIT compilation off).
    """
    with _without_jit(tickets.db):
        return _analyse(tickets=tickets, node=node, period=period)


def _bucket(children: list[ProblemSource], default: int) -> Case:
    """Which child's subtree a ticket's problem source lies in (by MPTT range), else ``default``."""
    return Case(
        *[
            When(
                problem_source__tree_id=child.tree_id,
                problem_source__lft__gte=child.lft,
                problem_source__lft__lte=child.rght,
                then=Value(child.pk),
            )
            for child in children
        ],
        default=Value(default),
        output_field=IntegerField(),
    )


def _per_ticket(tickets: QuerySet, *, bucket: Case) -> QuerySet:
    """Every ticket with everything the figures need, as annotations for aggregate() to read."""
    return tickets.annotate(
        bucket=bucket,
        finished_at=finished_at(),
        response_seconds=Seconds(F("first_response_at"), F("created_at")),
        resolution_seconds=resolution_seconds(),
        was_reopened=was_reopened(),
        is_general_topic=ExpressionWrapper(FILED_ON_GENERAL_TOPIC, output_field=BooleanField()),
    )


def _per_bucket(tickets: QuerySet, *, bucket: Case, aggregates: dict) -> dict[int, dict]:
    """The figures per child subtree as one GROUP BY."""
    rows = (
        tickets.annotate(
            bucket=bucket,
            finished_at=finished_at(),
            response_seconds=Seconds(F("first_response_at"), F("created_at")),
            resolution_seconds=resolution_seconds(),
            is_general_topic=ExpressionWrapper(FILED_ON_GENERAL_TOPIC, output_field=BooleanField()),
        )
        .alias(was_reopened=was_reopened())
        .values("bucket")
        .annotate(**aggregates)
        .order_by()
    )
    return {row["bucket"]: row for row in rows}


def _analyse(*, tickets: QuerySet, node: ProblemSource | None, period: Period) -> Analysis:
    if node is None:
        children = list(ProblemSource.objects.filter(parent__isnull=True).order_by("tree_id", "lft"))
        path = []
    else:
        children = list(ProblemSource.objects.filter(parent=node).order_by("tree_id", "lft"))
        path = list(node.get_ancestors(include_self=True))
        tickets = tickets.in_subtree(node)
    previous = period.previous()
    start, end = period.bounds()
    previous_start = previous.bounds()[0]
    # Only the tickets any figure can count: open now, or opened or finished since the previous
    # period began. Each alternative has its own index.
    tickets = tickets.order_by().filter(
        Q(status__in=Ticket.Status.open_values())
        | Q(created_at__gte=previous_start)
        | Q(resolved_at__gte=previous_start)
        | Q(closed_at__gte=previous_start)
    )
    on_postgresql = connections[tickets.db].vendor == "postgresql"
    direct_bucket = node.pk if node else 0
    bucket = _bucket(children, direct_bucket)
    per_ticket = _per_ticket(tickets, bucket=bucket)

    # 1. The node's total in this and the previous period, and the resolution-time histogram.
    everything = Q()
    finished = Q(finished_at__gte=start, finished_at__lt=end)
    aggregates = {
        **_counts(period, scope=everything),
        **_backlog(scope=everything),
        **_counts(previous, scope=everything, prefix="previous_"),
        **{f"bin_{b.key}": Count("pk", filter=finished & b.q()) for b in RESOLUTION_BINS},
    }
    if on_postgresql:
        aggregates.update(_percentile_aggregates(period, scope=everything))
        aggregates.update(_percentile_aggregates(previous, scope=everything, prefix="previous_"))
    totals = per_ticket.aggregate(**aggregates)

    # 2. The same per child subtree, and for the tickets on the node itself.
    row_aggregates = {
        **_counts(period, scope=everything),
        **_backlog(scope=everything),
        **_counts(previous, scope=everything, prefix="previous_", full=False),
    }
    if on_postgresql:
        row_aggregates.update(_percentile_aggregates(period, scope=everything))
    by_bucket = _per_bucket(tickets, bucket=bucket, aggregates=row_aggregates)

    if not on_postgresql:
        percentiles = _percentiles_in_python(per_ticket, {"current": period, "previous": previous})
        totals.update(percentiles.get(("current", None), {}))
        totals.update({f"previous_{k}": v for k, v in percentiles.get(("previous", None), {}).items()})
        for key, values in by_bucket.items():
            values.update(percentiles.get(("current", key), {}))

    def figures(values: dict | None) -> Figures:
        if not values:
            return Figures()
        result = _figures(values)
        result.opened_previous = values["previous_opened"]
        return result

    total = figures(totals)
    rows = [Row("total", node, total, has_children=bool(children))]
    for child in children:
        rows.append(Row("child", child, figures(by_bucket.get(child.pk)), has_children=child.rght - child.lft > 1))
    if node is not None and children and direct_bucket in by_bucket:
        rows.append(Row("direct", node, figures(by_bucket[direct_bucket])))

    # 3. Tickets per week, opened and finished, in weeks starting Monday in the site's time zone.
    tz = timezone.get_current_timezone()
    weeks = {monday: Week(monday) for monday in period.weeks()}
    for moment, name in (("created_at", "opened"), ("finished_at", "closed")):
        in_period = tickets.alias(finished_at=finished_at()).filter(**{f"{moment}__gte": start, f"{moment}__lt": end})
        rows_per_week = (
            in_period.annotate(week=TruncWeek(moment, tzinfo=tz)).values("week").annotate(n=Count("pk")).order_by()
        )
        for row in rows_per_week:
            monday = timezone.localtime(row["week"], tz).date() if timezone.is_aware(row["week"]) else row["week"]
            if isinstance(monday, datetime):
                monday = monday.date()
            setattr(weeks[monday], name, row["n"])

    return Analysis(
        node=node,
        path=path,
        period=period,
        total=total,
        previous=_figures(totals, prefix="previous_"),
        rows=rows,
        weeks=list(weeks.values()),
        histogram=[(b, totals[f"bin_{b.key}"]) for b in RESOLUTION_BINS],
    )
