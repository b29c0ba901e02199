"""Time the similar-ticket lookups (tickets.similar) on a big PostgreSQL database; prints numbers.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/tt_h_known_bench .venv/bin/python bench/similar.py

The database must be a copy of the benchmark's (``createdb -T tt_bench <copy>``), never ``tt_bench``
itself: this script migrates it and marks a few open tickets as known issues (through the workflow)
when it has none. It then times, like an employee typing a title, ``similar_for_employee`` for
prefixes of real titles ("Prin", "Printer jam", ...), and ``similar_for_agent`` for open tickets, and
prints p50/p95/max per lookup (target: under 50 ms at 100,000 tickets) and one plan of each.
"""

import os
import random
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1")
URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tt_h_known_bench")
os.environ["DATABASE_URL"] = URL

KNOWN_ISSUES = 12
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "200"))


def main() -> None:
    name = urlsplit(URL).path.lstrip("/")
    if name == "tt_bench" or not name.startswith(("tt_bench", "tt_perf", "tt_h_")):
        sys.exit(f"Refusing {name!r}: give a copy of the benchmark database (createdb -T tt_bench <copy>).")

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from accounts.roles import agents
    from tickets import known_issues
    from tickets.models import KnownIssue, Ticket
    from tickets.similar import lookup_words, similar_for_agent, similar_for_employee

    if connection.vendor != "postgresql":
        sys.exit("The benchmark measures PostgreSQL.")
    call_command("migrate", verbosity=0)
    rng = random.Random(15)  # noqa: S311 - picks sample tickets, guards no secret
    total = Ticket.objects.count()
    open_ids = list(Ticket.objects.open().values_list("pk", flat=True))
    if not KnownIssue.objects.exists():
        agent = agents().first()
        for pk in rng.sample(open_ids, KNOWN_ISSUES):
            ticket = Ticket.objects.select_related("problem_source").get(pk=pk)
            known_issues.known_issue_mark(
                ticket=ticket, actor=agent, problem_source=ticket.problem_source, status_text=f"Known: {ticket.title}"
            )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tickets_knownissue; ANALYZE tickets_affectedperson")

    titles = list(Ticket.objects.filter(pk__in=rng.sample(open_ids, 50)).values_list("title", "requester_id"))
    people = {user.pk: user for user in type(agents().first()).objects.filter(pk__in={r for _t, r in titles})}
    typed = []  # what an employee has typed so far: growing prefixes of real titles
    for title, requester_id in titles:
        for end in (4, 12, len(title)):
            if lookup_words(title[:end]):
                typed.append((title[:end], people[requester_id]))

    def timed(call) -> list[float]:
        laps = []
        for number in range(ROUNDS):
            started = time.perf_counter()
            call(number)
            laps.append((time.perf_counter() - started) * 1000)
        return laps

    def report(label: str, laps: list[float]) -> None:
        laps = sorted(laps)
        p95 = laps[int(len(laps) * 0.95) - 1]
        print(f"{label:<44} p50 {statistics.median(laps):7.1f} ms   p95 {p95:7.1f} ms   max {laps[-1]:7.1f} ms")

    agent_tickets = list(Ticket.objects.filter(pk__in=rng.sample(open_ids, 50)))
    similar_for_employee(*typed[0][:1], user=typed[0][1])  # warm the connection
    print(f"{total:,} tickets, {len(open_ids):,} open, {KnownIssue.objects.count()} known issues, {ROUNDS} rounds")
    report(
        "employee typing a title (similar_for_employee)",
        timed(lambda n: similar_for_employee(typed[n % len(typed)][0], user=typed[n % len(typed)][1])),
    )
    report("agent on a ticket (similar_for_agent)", timed(lambda n: similar_for_agent(agent_tickets[n % 50])))

    with connection.cursor() as cursor:
        text, user = typed[len(typed) // 2]
        print(f"\nOne employee lookup ({text!r}):")
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            similar_for_employee(text, user=user)
        for query in captured.captured_queries:
            cursor.execute(f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) {query['sql']}")
            print("\n".join(row[0] for row in cursor.fetchall() if "Rows Removed" not in row[0]))
            print("--")


if __name__ == "__main__":
    main()
