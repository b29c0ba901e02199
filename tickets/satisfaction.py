"""Satisfaction and self-help figures: thumbs up per problem source, agent and IT team, deflections
and "Affects me too" per problem source.

Ratings (tickets.ratings) count in the period they were given; deflections (tickets.self_help) on
the day "That solved it" was pressed. Each row is one node as the rating or deflection recorded it.
"""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import Count, Q, Sum
from django.utils.translation import gettext as _

from tickets import problem_sources
from tickets.analysis import Period
from tickets.known_issues import me_too_counts
from tickets.models import SelfHelpDeflection, Team, TicketRating


@dataclass
class SatisfactionRow:
    key: int | None  # the node's or agent's id; None: nobody was responsible
    label: str
    ratings: int
    positive: int

    @property
    def share(self) -> float | None:
        """Share of thumbs up, 0..1; None without ratings."""
        return self.positive / self.ratings if self.ratings else None


@dataclass
class DeflectionRow:
    key: int
    label: str
    solved: int


@dataclass
class Satisfaction:
    total: SatisfactionRow
    by_node: list[SatisfactionRow]
    by_agent: list[SatisfactionRow]
    deflections: list[DeflectionRow]
    by_team: list[SatisfactionRow]
    me_too: list[DeflectionRow]  # people who said "Affects me too" (or filed a duplicate), per node

    @property
    def deflected(self) -> int:
        return sum(row.solved for row in self.deflections)


def _counted(ratings, field: str) -> list[tuple[int | None, int, int]]:
    rows = ratings.values(field).annotate(n=Count("pk"), up=Count("pk", filter=Q(is_positive=True))).order_by()
    return [(row[field], row["n"], row["up"]) for row in rows]


def satisfaction(period: Period) -> Satisfaction:
    """All figures of the period in seven small queries (grouped counts, the names they need and the
    node paths), whatever the number of ratings."""
    first, after = period.bounds()
    ratings = TicketRating.objects.filter(created_at__gte=first, created_at__lt=after)
    paths = problem_sources.display_paths()
    by_node = [SatisfactionRow(pk, paths.get(pk, ""), n, up) for pk, n, up in _counted(ratings, "problem_source")]
    agent_rows = _counted(ratings, "agent")
    names = get_user_model().objects.in_bulk([pk for pk, _n, _up in agent_rows if pk is not None])
    by_agent = [SatisfactionRow(pk, names[pk].display_name if pk in names else "", n, up) for pk, n, up in agent_rows]
    team_rows = _counted(ratings, "ticket__team")  # the IT team that holds the ticket now
    teams = dict(Team.objects.filter(pk__in=[pk for pk, _n, _up in team_rows if pk]).values_list("pk", "name"))
    by_team = [SatisfactionRow(pk, teams.get(pk, _("No team")), n, up) for pk, n, up in team_rows]
    deflections = [
        DeflectionRow(row["problem_source"], paths.get(row["problem_source"], ""), row["solved"])
        for row in SelfHelpDeflection.objects.filter(day__gte=period.start, day__lte=period.end)
        .values("problem_source")
        .annotate(solved=Sum("count"))
        .order_by()
    ]
    me_too = [
        DeflectionRow(pk, paths.get(pk, ""), count) for pk, count in me_too_counts(start=first, end=after).items()
    ]
    total = SatisfactionRow(None, "", sum(row.ratings for row in by_node), sum(row.positive for row in by_node))
    return Satisfaction(
        total=total,
        by_node=sorted(by_node, key=lambda row: row.label),
        by_agent=sorted(by_agent, key=lambda row: (row.key is None, row.label)),
        deflections=sorted(deflections, key=lambda row: (-row.solved, row.label)),
        by_team=sorted(by_team, key=lambda row: (row.key is None, row.label)),
        me_too=sorted(me_too, key=lambda row: (-row.solved, row.label)),
    )
