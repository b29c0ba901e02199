"""Service-level figures of the analysis page, per problem source (the page's rows) and period.

- First response met: of the tickets opened in the period whose first-response target is decided
  (answered, or its due time passed), the share answered by the due time.
- Resolution met: of the tickets finished in the period under a resolution target, the share finished
  with business time left (``sla_resolution_left_seconds`` >= 0, stored at resolution).
- Median business time left at resolution (negative: late), of the same tickets.

Two queries whatever the number of tickets: the counts per child subtree (GROUP BY, with the medians
on PostgreSQL), and the node's own median (PostgreSQL) or every child's (SQLite, which has no
percentile aggregate: the values are fetched, for development databases only).
"""

from dataclasses import dataclass
from datetime import timedelta

from django.db import connections
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from tickets import analysis
from tickets.models import ProblemSource


@dataclass
class SlaFigures:
    responses: int = 0
    responses_met: int = 0
    resolutions: int = 0
    resolutions_met: int = 0
    median_left_seconds: float | None = None

    @property
    def responses_missed(self) -> int:
        return self.responses - self.responses_met

    @property
    def resolutions_missed(self) -> int:
        return self.resolutions - self.resolutions_met

    @property
    def response_share(self) -> float | None:
        return self.responses_met / self.responses if self.responses else None

    @property
    def resolution_share(self) -> float | None:
        return self.resolutions_met / self.resolutions if self.resolutions else None

    @property
    def median_left(self) -> timedelta | None:
        return None if self.median_left_seconds is None else timedelta(seconds=self.median_left_seconds)


def response_decided(now) -> Q:
    return Q(first_response_due_at__isnull=False) & (
        Q(first_response_at__isnull=False) | Q(first_response_due_at__lt=now)
    )


def response_met() -> Q:
    return Q(first_response_at__isnull=False, first_response_at__lte=F("first_response_due_at"))


def sla_figures(
    *, tickets: QuerySet, node: ProblemSource | None, children: list[ProblemSource], period: analysis.Period
) -> tuple[SlaFigures, dict[int, SlaFigures]]:
    """The node's figures and each child's (by child pk; the node's pk for tickets on the node itself)."""
    if node is not None:
        tickets = tickets.in_subtree(node)
    now = timezone.now()
    start, end = period.bounds()
    opened = Q(created_at__gte=start, created_at__lt=end) & response_decided(now)
    finished = Q(finished_at__gte=start, finished_at__lt=end, sla_resolution_left_seconds__isnull=False)
    bucket, bucket_of = analysis._bucket(children, node)
    tickets = tickets.order_by().alias(finished_at=analysis.finished_at())
    in_period = tickets.filter(opened | finished)
    on_postgresql = connections[tickets.db].vendor == "postgresql"
    aggregates = {
        "responses": Count("pk", filter=opened),
        "responses_met": Count("pk", filter=opened & response_met()),
        "resolutions": Count("pk", filter=finished),
        "resolutions_met": Count("pk", filter=finished & Q(sla_resolution_left_seconds__gte=0)),
    }
    median = analysis.PercentileCont(0.5, F("sla_resolution_left_seconds"), filter=finished)
    if on_postgresql:
        aggregates["median_left_seconds"] = median
    groups = in_period.annotate(bucket=bucket).values("bucket").annotate(**aggregates).order_by()
    by_bucket = {group.pop("bucket"): SlaFigures(**group) for group in groups}
    total = SlaFigures(
        **{
            name: sum(getattr(figures, name) for figures in by_bucket.values())
            for name in aggregates
            if name != "median_left_seconds"
        }
    )
    if on_postgresql:
        total.median_left_seconds = in_period.aggregate(m=median)["m"]
    else:
        values: dict[object, list[int]] = {}
        for key, left in (
            in_period.filter(finished).annotate(bucket=bucket).values_list("bucket", "sla_resolution_left_seconds")
        ):
            values.setdefault(key, []).append(left)
        for key, lefts in values.items():
            by_bucket[key].median_left_seconds = analysis.percentile_cont(sorted(lefts), 0.5)
        total.median_left_seconds = analysis.percentile_cont(sorted(v for lefts in values.values() for v in lefts), 0.5)
    per_child = {pk: by_bucket.get(key, SlaFigures()) for pk, key in bucket_of.items()}
    if node is not None and node.pk in by_bucket:
        per_child[node.pk] = by_bucket[node.pk]
    return total, per_child


@dataclass
class TeamBreaches:
    team_id: int | None  # None: tickets of no team
    name: str
    responses_missed: int
    resolutions_missed: int


def breaches_by_team(*, tickets: QuerySet, node: ProblemSource | None, period: analysis.Period) -> list[TeamBreaches]:
    """Missed first responses and resolutions of the period per IT team (the team holding the ticket
    now), worst first; one grouped query. Teams without a breach are left out."""
    if node is not None:
        tickets = tickets.in_subtree(node)
    start, end = period.bounds()
    opened = Q(created_at__gte=start, created_at__lt=end) & response_decided(timezone.now()) & ~response_met()
    finished = Q(finished_at__gte=start, finished_at__lt=end, sla_resolution_left_seconds__lt=0)
    groups = (
        tickets.order_by()
        .alias(finished_at=analysis.finished_at())
        .filter(opened | finished)
        .values("team", "team__name")
        .annotate(responses=Count("pk", filter=opened), resolutions=Count("pk", filter=finished))
    )
    rows = [
        TeamBreaches(group["team"], group["team__name"] or "", group["responses"], group["resolutions"])
        for group in groups
    ]
    return sorted(rows, key=lambda row: (-(row.responses_missed + row.resolutions_missed), row.name))
