"""The figures of the analysis page: where IT's time goes, per problem source.

Every figure is computed by the database: conditional aggregates over the ticket table, a subtree
selected by the MPTT range (``tree_id``/``lft``/``rght``), the children of the chosen node as one
``GROUP BY`` over a ``CASE`` of their ranges (at the root: over the tree id), whose sums are the
node's counts; the weeks and the resolution-time histogram as one more ``GROUP BY``. No ticket is
loaded into Python, with one documented exception: percentiles on SQLite (development only), see
:func:`_percentiles_in_python`. ``manage.py benchmark_analysis`` times the page.

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
- *reopened*: the ticket has a status event from resolved or closed to an open status. The
  services count these events in ``Ticket.reopened_count`` when they write them
  (``services._set_status``); migration 0008 counted them for older tickets, and
  :func:`reopens_from_events` counts them again for checking;
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
    DateTimeField,
    Expression,
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
from django.db.models.functions import Coalesce
from django.db.models.lookups import IsNull, LessThan
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
        # date_part() computes in double precision. EXTRACT(EPOCH FROM …) returns numeric since
        # PostgreSQL 14, which cost 90 ms at 100,000 tickets in a query that computed 18 durations
        # per ticket. The same seconds, to the microsecond.
        return super().as_sql(
            compiler,
            connection,
            template="DATE_PART('epoch', %(expressions)s)",
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


def width_bucket(expression, bounds: list, *, on_postgresql: bool) -> Expression:
    """Which of the intervals that ``bounds`` (ascending) divide the line into ``expression`` lies
    in, as PostgreSQL's ``width_bucket`` numbers them: 0 below ``bounds[0]``, ``i`` from
    ``bounds[i - 1]`` (included) to ``bounds[i]`` (excluded), ``len(bounds)`` from the last bound
    on; NULL for NULL. One binary search per row on PostgreSQL, a CASE elsewhere."""
    if on_postgresql:
        return WidthBucket(expression, bounds)
    whens = [When(LessThan(expression, Value(bound)), then=Value(number)) for number, bound in enumerate(bounds)]
    return Case(When(IsNull(expression, True), then=Value(None)), *whens, default=Value(len(bounds)))


class WidthBucket(Func):
    """PostgreSQL's ``width_bucket(operand, thresholds)``; see :func:`width_bucket`."""

    function = "WIDTH_BUCKET"
    output_field = IntegerField()

    def __init__(self, expression, bounds: list, **extra):
        self.bounds = list(bounds)
        super().__init__(expression, **extra)

    def as_sql(self, compiler, connection, **extra_context):
        raise NotSupportedError("WidthBucket() is implemented for PostgreSQL only; use width_bucket().")

    def as_postgresql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        output = self.source_expressions[0].output_field
        array_type = "timestamptz" if isinstance(output, DateTimeField) else "double precision"
        values = [output.get_db_prep_value(bound, connection) for bound in self.bounds]
        return f"WIDTH_BUCKET({sql}, %s::{array_type}[])", (*params, values)


def finished_at():
    """When the ticket was resolved, or closed when it was closed without being resolved."""
    return Coalesce("resolved_at", "closed_at")


def resolution_seconds():
    return Seconds(finished_at(), F("created_at"))


def response_seconds():
    return Seconds(F("first_response_at"), F("created_at"))


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
    """The ticket went from resolved or closed back to an open status at least once: its stored
    ``reopened_count``, kept with the status event by the services (migration 0008 counted the
    events before)."""
    return ExpressionWrapper(Q(reopened_count__gt=0), output_field=BooleanField())


def reopens_from_events():
    """How many status events from resolved or closed to an open status the ticket has, counted
    from its events: what ``Ticket.reopened_count`` stores, for checking it. The figures read the
    column."""
    reopens = (
        TicketEvent.objects.filter(
            ticket=OuterRef("pk"),
            kind=TicketEvent.Kind.STATUS,
            old_value__in=[Ticket.Status.RESOLVED, Ticket.Status.CLOSED],
            new_value__in=Ticket.Status.open_values(),
        )
        .order_by()
        .values("ticket")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(reopens), 0)


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


def _counts(period: Period, *, prefix: str = "") -> dict[str, Aggregate]:
    """Counts of ``period`` for a queryset with the aliases of :func:`_analyse`."""
    start, end = period.bounds()
    opened = Q(created_at__gte=start, created_at__lt=end)
    # The rarer, cheaper condition first: PostgreSQL tests the conditions of a FILTER in order, and
    # every one of these is tested for every ticket.
    return {
        f"{prefix}opened": Count("pk", filter=opened),
        f"{prefix}closed": Count("pk", filter=Q(finished_at__gte=start, finished_at__lt=end)),
        f"{prefix}without_response": Count("pk", filter=Q(first_response_at__isnull=True) & opened),
        f"{prefix}reopened": Count("pk", filter=Q(was_reopened=True) & opened),
        f"{prefix}on_general_topic": Count("pk", filter=Q(is_general_topic=True) & opened),
    }


def _backlog() -> dict[str, Aggregate]:
    open_now = Q(status__in=Ticket.Status.open_values())
    return {
        "backlog": Count("pk", filter=open_now),
        "unassigned": Count("pk", filter=Q(assignee__isnull=True) & open_now),
    }


def _percentile_aggregates(period: Period, *, prefix: str = "") -> dict[str, Aggregate]:
    """percentile_cont aggregates (PostgreSQL) for the response and resolution times of ``period``.

    The median and the 90th percentile of a figure share one sort: PostgreSQL computes ordered-set
    aggregates with the same argument and filter from the same sorted input."""
    start, end = period.bounds()
    opened = Q(created_at__gte=start, created_at__lt=end)
    finished = Q(finished_at__gte=start, finished_at__lt=end)
    aggregates = {}
    for fraction, name in zip(PERCENTILES, ("median", "p90"), strict=True):
        aggregates[f"{prefix}response_{name}"] = PercentileCont(fraction, response_seconds(), filter=opened)
        aggregates[f"{prefix}resolution_{name}"] = PercentileCont(fraction, resolution_seconds(), filter=finished)
    return aggregates


def percentile_cont(ordered: list[float], fraction: float) -> float | None:
    """What PostgreSQL's percentile_cont returns for these values (sorted ascending)."""
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    lower = math.floor(position)
    upper = math.ceil(position)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def _percentiles_in_python(
    tickets: QuerySet, *, bucket: Expression, periods: dict[str, Period]
) -> dict[tuple[str, object], dict]:
    """SQLite has no percentile aggregate. For development databases only, fetch the durations of
    the tickets in question (one row per ticket opened or finished in the periods) and compute the
    same interpolation as PostgreSQL's percentile_cont. PostgreSQL never comes here.

    Returns {(period name, bucket): {"response_median": …, …}}; bucket None is the whole node.
    """
    durations: dict[tuple[str, object, str], list[float]] = defaultdict(list)
    earliest = min(period.bounds()[0] for period in periods.values())
    rows = tickets.annotate(
        ticket_bucket=bucket,
        finished=F("finished_at"),
        response=response_seconds(),
        resolution=resolution_seconds(),
    )
    queries = {
        "response": ("created_at", rows.filter(created_at__gte=earliest, response__isnull=False)),
        "resolution": ("finished", rows.filter(finished_at__gte=earliest)),
    }
    for figure, (moment, figure_rows) in queries.items():
        for key, at, seconds in figure_rows.values_list("ticket_bucket", moment, figure):
            for name, period in periods.items():
                start, end = period.bounds()
                if start <= at < end:
                    durations[(name, key, figure)].append(seconds)
                    durations[(name, None, figure)].append(seconds)
    result: dict[tuple[str, object], dict] = defaultdict(dict)
    for (name, key, figure), values in durations.items():
        values.sort()
        for fraction, label in zip(PERCENTILES, ("median", "p90"), strict=True):
            result[(name, key)][f"{figure}_{label}"] = percentile_cont(values, fraction)
    return result


def _figures(values: dict, *, prefix: str = "") -> Figures:
    names = [name for name in Figures.__dataclass_fields__ if name != "opened_previous"]
    return Figures(**{name: values[prefix + name] for name in names if prefix + name in values})


WORK_MEM = "32MB"
"""Sort memory for the analysis queries: the GROUP BY sorts up to all tickets by child, which spilled
to disk with PostgreSQL's default of 4 MB."""


@contextmanager
def _query_settings(using: str) -> Iterator[None]:
    """PostgreSQL settings for these queries only (SET LOCAL ends with the transaction).

    JIT off: its compiler read the large cost estimates of the aggregates as a reason to compile
    them, which took 1–2 s at 100,000 tickets for a query that runs in 0.15 s (see
    ``manage.py benchmark_analysis``). More ``work_mem``: see :data:`WORK_MEM`."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(using=using):
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('jit', 'off', true), set_config('work_mem', %s, true)", [WORK_MEM])
        yield


def analyse(*, tickets: QuerySet, node: ProblemSource | None, period: Period) -> Analysis:
    """All figures for ``node`` (None: every problem source) and its children in ``period``.

    ``tickets`` is the caller's visible queryset (``Ticket.objects.visible_to(user)``). A fixed
    number of queries, whatever the number of tickets: the node's path and its children (2; 1 at
    the root), the counts per child (1), the weeks and the histogram (1); on PostgreSQL one for the
    settings of these queries and one for the node's percentiles, on SQLite two for all percentiles.
    """
    with _query_settings(tickets.db):
        return _analyse(tickets=tickets, node=node, period=period)


def _bucket(children: list[ProblemSource], node: ProblemSource | None) -> tuple[Expression, dict[int, int]]:
    """Which child's subtree a ticket's problem source lies in, as an expression, and the value it
    takes for each child (by child pk). Tickets on ``node`` itself get ``node.pk``."""
    if node is None:
        # The children of the root are the top-level sources, each the root of its own MPTT tree.
        return F("problem_source__tree_id"), {child.pk: child.tree_id for child in children}
    # The tickets are in node's tree already (TicketQuerySet.in_subtree): the lft ranges decide.
    whens = [
        When(problem_source__lft__gte=child.lft, problem_source__lft__lte=child.rght, then=Value(child.pk))
        for child in children
    ]
    expression = Case(*whens, default=Value(node.pk), output_field=IntegerField()) if whens else Value(node.pk)
    return expression, {child.pk: child.pk for child in children}


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
    on_postgresql = connections[tickets.db].vendor == "postgresql"
    bucket, bucket_of = _bucket(children, node)
    tickets = tickets.order_by().alias(
        finished_at=finished_at(),
        resolution_seconds=resolution_seconds(),
    )
    # The tickets opened or finished in either period (an index range each) ...
    in_either_period = Q(created_at__gte=previous_start, created_at__lt=end) | Q(
        finished_at__gte=previous_start, finished_at__lt=end
    )
    # ... and those open now: all that any figure counts.
    counted = tickets.filter(in_either_period | Q(status__in=Ticket.Status.open_values())).alias(
        was_reopened=was_reopened(),
        # Here only: the alias joins the problem sources, which the other queries do not need.
        is_general_topic=ExpressionWrapper(FILED_ON_GENERAL_TOPIC, output_field=BooleanField()),
    )

    # 1. The counts (and on PostgreSQL the percentiles) per child subtree and for the tickets on the
    # node itself, as one GROUP BY. The children split the node's tickets: its counts are the sums.
    counts = {**_counts(period), **_backlog(), **_counts(previous, prefix="previous_")}
    aggregates = {**counts, **(_percentile_aggregates(period) if on_postgresql else {})}
    per_bucket = counted.annotate(bucket=bucket).values("bucket").annotate(**aggregates).order_by()
    by_bucket = {values["bucket"]: values for values in per_bucket}
    totals = {name: sum(values[name] for values in by_bucket.values()) for name in counts}

    # 2. PostgreSQL: the node's percentiles in both periods, which no sum of the children gives.
    if on_postgresql:
        node_percentiles = {**_percentile_aggregates(period), **_percentile_aggregates(previous, prefix="previous_")}
        totals.update(tickets.filter(in_either_period).aggregate(**node_percentiles))
    else:
        percentiles = _percentiles_in_python(
            tickets.filter(in_either_period), bucket=bucket, periods={"current": period, "previous": previous}
        )
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
        child_figures = figures(by_bucket.get(bucket_of[child.pk]))
        rows.append(Row("child", child, child_figures, has_children=child.rght - child.lft > 1))
    if node is not None and children and node.pk in by_bucket:
        rows.append(Row("direct", node, figures(by_bucket[node.pk])))

    # 3. Tickets opened and finished per week (Monday to Sunday in the site's time zone) and the
    # resolution-time histogram, counted together: one GROUP BY of the week a ticket was opened in,
    # the week it was finished in, and its resolution-time bin, summed up here.
    weeks = [Week(monday) for monday in period.weeks()]
    tz = timezone.get_current_timezone()
    week_bounds = [start, *(datetime.combine(week.monday, time.min, tzinfo=tz) for week in weeks[1:]), end]
    # The bins are contiguous (each starts where the one before ends): bucket i is bin i.
    bin_bounds = [resolution_bin.lower for resolution_bin in RESOLUTION_BINS[1:]]
    histogram = [0] * len(RESOLUTION_BINS)
    in_this_period = Q(created_at__gte=start, created_at__lt=end) | Q(finished_at__gte=start, finished_at__lt=end)
    groups = (
        tickets.filter(in_this_period)
        .annotate(
            opened_week=width_bucket(F("created_at"), week_bounds, on_postgresql=on_postgresql),
            closed_week=width_bucket(F("finished_at"), week_bounds, on_postgresql=on_postgresql),
            resolution_bin=width_bucket(F("resolution_seconds"), bin_bounds, on_postgresql=on_postgresql),
        )
        .values("opened_week", "closed_week", "resolution_bin")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for group in groups:
        # Bucket i (1 … number of weeks) is the i-th week; 0 and the last bucket lie outside the period.
        if 1 <= group["opened_week"] <= len(weeks):
            weeks[group["opened_week"] - 1].opened += group["n"]
        if group["closed_week"] is not None and 1 <= group["closed_week"] <= len(weeks):
            weeks[group["closed_week"] - 1].closed += group["n"]
            histogram[group["resolution_bin"]] += group["n"]

    return Analysis(
        node=node,
        path=path,
        period=period,
        total=total,
        previous=_figures(totals, prefix="previous_"),
        rows=rows,
        weeks=weeks,
        histogram=list(zip(RESOLUTION_BINS, histogram, strict=True)),
    )
