"""Time the analysis page and the CSV export on the current database; prints numbers, asserts nothing.

Meant for a PostgreSQL database with production-sized data, e.g. 100,000 tickets made by
``manage.py generate_data``. Read-only: it signs in an existing agent through the test client.
"""

import resource
import statistics
import time
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.models import Count, Q
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tickets import analysis
from tickets.models import ProblemSource, Ticket


class Command(BaseCommand):
    help = "Time the analysis page (several periods and nodes) and the streamed CSV export of all tickets."

    def add_arguments(self, parser):
        parser.add_argument("--repeat", type=int, default=5, help="Runs per measurement (default %(default)s).")
        parser.add_argument("--no-export", action="store_true", help="Skip the export of all tickets.")

    def handle(self, *args, repeat: int, no_export: bool, **options):
        agent = (
            get_user_model()
            .objects.filter(is_active=True)
            .filter(Q(is_superuser=True) | Q(groups__name=settings.IT_STAFF_GROUP))
            .order_by("pk")
            .first()
        )
        if agent is None:
            raise CommandError("No active agent to sign in as; load data first (generate_data or quickstart).")
        host = (settings.ALLOWED_HOSTS or ["localhost"])[0].lstrip(".").replace("*", "localhost")
        client = Client(HTTP_HOST=host)
        client.force_login(agent)

        self.stdout.write(
            f"{connection.vendor}: {Ticket.objects.count():,} tickets, {ProblemSource.objects.count():,} problem "
            f"sources; signed in as {agent.username}; best and median of {repeat} runs."
        )
        busiest = (
            ProblemSource.objects.filter(parent__isnull=False)
            .annotate(n=Count("tickets"))
            .order_by("-n")
            .values_list("parent_id", flat=True)
            .first()
        )
        roots = ProblemSource.objects.filter(parent__isnull=True)
        largest = max(roots, key=lambda root: Ticket.objects.in_subtree(root).count(), default=None)
        today = timezone.localdate()
        longest = {
            "period": "custom",
            "start": (today - timedelta(days=analysis.MAX_PERIOD_DAYS - 1)).isoformat(),
            "end": today.isoformat(),
        }
        longest_label = f"{analysis.MAX_PERIOD_DAYS} days (the longest)"
        scenarios = [
            ("all sources, last 30 days", {"period": "30"}),
            ("all sources, last 90 days", {"period": "90"}),
            ("all sources, this year", {"period": "year"}),
            (f"all sources, {longest_label}", longest),
        ]
        if largest:
            scenarios.append(("largest top-level source, last 90 days", {"period": "90", "source": largest.pk}))
            scenarios.append((f"largest top-level source, {longest_label}", {**longest, "source": largest.pk}))
        if busiest:
            scenarios.append(("busiest inner node, last 90 days", {"period": "90", "source": busiest}))
        for label, params in scenarios:
            self.measure(client, label, reverse("tickets:analysis"), params, repeat)
        self.measure(client, "analysis table as CSV, 90 days", reverse("tickets:analysis_export"), {"period": "90"}, 1)
        if not no_export:
            self.measure(client, "CSV export of all tickets", reverse("tickets:export"), {}, 1, streamed=True)

    def measure(self, client, label, url, params, repeat, *, streamed=False):
        times, queries, size = [], 0, 0
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        for _run in range(max(repeat, 1)):
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                response = client.get(url, params)
                body = b"".join(response.streaming_content) if response.streaming else response.content
                times.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise CommandError(f"{label}: HTTP {response.status_code}")
            queries, size = len(captured), len(body)
        grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
        extra = f", {size / 1_048_576:.1f} MiB, peak memory +{grown:.0f} MiB" if streamed else ""
        self.stdout.write(
            f"  {label:<50} best {min(times) * 1000:8.0f} ms   median {statistics.median(times) * 1000:8.0f} ms"
            f"   {queries:3d} queries{extra}"
        )
