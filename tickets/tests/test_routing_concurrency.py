"""Automatic assignment under parallel filings (PostgreSQL, real connections, one per thread)."""

import threading
from collections import Counter

import pytest
from django.db import connection

from conftest import make_user
from tickets import problem_sources, services
from tickets.models import AssignmentRule, ProblemSource, Team, Ticket

THREADS = 6
TICKETS_PER_THREAD = 3


def file_in_parallel(node, requester, *, threads: int, per_thread: int) -> list[Exception]:
    barrier = threading.Barrier(threads)
    failures = []

    def filer(index: int) -> None:
        try:
            barrier.wait()  # every thread files at the same moment
            for number in range(per_thread):
                services.ticket_create(
                    requester=requester, problem_source=node, title=f"Thread {index} #{number}", description="d"
                )
        except Exception as exc:  # noqa: BLE001 - reported by the main thread
            failures.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=filer, args=(index,)) for index in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return failures


@pytest.fixture
def routed_team():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: set DATABASE_URL")
    members = [make_user(name, agent=True) for name in ("mia", "noah", "olga")]
    team = Team.objects.create(name="Workplace")
    team.members.set(members)
    node = problem_sources.problem_source_create(name_en="Hardware", team=team)
    return node, members


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_parallel_filings_with_round_robin_never_give_two_tickets_in_a_row_to_the_same_agent(routed_team):
    node, members = routed_team
    ProblemSource.objects.filter(pk=node.pk).update(assignment_rule=AssignmentRule.ROUND_ROBIN)
    requester = make_user("erika")

    failures = file_in_parallel(node, requester, threads=THREADS, per_thread=TICKETS_PER_THREAD)

    assert failures == []
    in_filing_order = list(Ticket.objects.order_by("pk").values_list("assignee_id", flat=True))
    assert len(in_filing_order) == THREADS * TICKETS_PER_THREAD
    # Exactly the rotation: each ticket goes to the member after the previous ticket's.
    cycle = [member.pk for member in members]
    start = cycle.index(in_filing_order[0])
    assert in_filing_order == [cycle[(start + n) % len(cycle)] for n in range(len(in_filing_order))]
    assert set(Counter(in_filing_order).values()) == {THREADS * TICKETS_PER_THREAD // len(members)}


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_parallel_filings_with_fewest_open_tickets_spread_evenly(routed_team):
    node, members = routed_team
    ProblemSource.objects.filter(pk=node.pk).update(assignment_rule=AssignmentRule.FEWEST_OPEN)
    requester = make_user("erika")

    failures = file_in_parallel(node, requester, threads=THREADS, per_thread=1)

    assert failures == []
    counts = Counter(Ticket.objects.values_list("assignee_id", flat=True))
    assert counts == {member.pk: THREADS // len(members) for member in members}
