"""Fill the database with production-sized made-up data for benchmarks (see devtools.data_generator)."""

import sys
import time

from django.core.management.base import BaseCommand, CommandError

from devtools import data_generator


class Command(BaseCommand):
    help = (
        "Generate users, a problem-source tree, tickets with comments and a consistent event history, with bulk "
        "INSERTs. Refuses a database with real tickets unless --force is given. Meant for benchmark databases."
    )

    def add_arguments(self, parser):
        default = data_generator.Sizes()
        parser.add_argument("--tickets", type=int, default=default.tickets, help="Tickets (default %(default)s).")
        parser.add_argument("--users", type=int, default=default.users, help="Users incl. agents (%(default)s).")
        parser.add_argument("--agents", type=int, default=default.agents, help="IT staff (default %(default)s).")
        parser.add_argument("--nodes", type=int, default=default.nodes, help="Problem sources (%(default)s).")
        parser.add_argument("--depth", type=int, default=default.depth, help="Tree levels (default %(default)s).")
        parser.add_argument(
            "--comments", type=float, default=default.comments_per_ticket, help="Comments per ticket on average."
        )
        parser.add_argument("--years", type=float, default=default.years, help="Years the tickets spread over.")
        parser.add_argument("--seed", type=int, default=data_generator.SEED, help="Random seed (same seed, same data).")
        parser.add_argument(
            "--password",
            default=None,
            help="Give every generated account this password (hashed once). Without it they cannot sign in.",
        )
        parser.add_argument(
            "--force", action="store_true", help="Also run on a database that already has real tickets."
        )

    def handle(self, *args, **options):
        sizes = data_generator.Sizes(
            users=options["users"],
            agents=options["agents"],
            nodes=options["nodes"],
            depth=options["depth"],
            tickets=options["tickets"],
            comments_per_ticket=options["comments"],
            years=options["years"],
        )
        started = time.monotonic()
        bar = ProgressBar(self.stdout, started)
        try:
            report = data_generator.generate(
                sizes, seed=options["seed"], password=options["password"], force=options["force"], progress=bar
            )
        except (data_generator.GeneratorRefusedError, ValueError) as error:
            raise CommandError(str(error)) from None
        bar.finish()
        statuses = ", ".join(f"{status} {count:,}" for status, count in sorted(report.status_counts.items()))
        self.stdout.write(
            self.style.SUCCESS(
                f"Generated {report.users:,} users ({report.agents:,} IT staff), {report.nodes:,} problem sources, "
                f"{report.tickets:,} tickets, {report.comments:,} comments and {report.events:,} events "
                f"in {time.monotonic() - started:.0f} s."
            )
        )
        self.stdout.write(f"Tickets by status: {statuses}")


class ProgressBar:
    """A one-line progress bar on a terminal; one line per step when the output is not a terminal."""

    WIDTH = 30

    def __init__(self, stdout, started: float):
        self.stdout = stdout
        self.started = started
        self.interactive = getattr(stdout, "isatty", lambda: False)() or sys.stdout.isatty()
        self.label = None
        self.shown = -1

    def __call__(self, label: str, done: int, total: int) -> None:
        if label != self.label and self.label is not None and self.interactive:
            self.stdout.write("")  # keep the finished bar, start a new line
        self.label = label
        share = done / total if total else 1
        percent = int(share * 100)
        if percent == self.shown and done != total:
            return
        self.shown = percent
        filled = int(share * self.WIDTH)
        line = (
            f"{label:<16} [{'#' * filled}{'.' * (self.WIDTH - filled)}] {percent:3d}%  {done:,}/{total:,}  "
            f"{time.monotonic() - self.started:5.0f} s"
        )
        if self.interactive:
            self.stdout.write(f"\r{line}", ending="")
            self.stdout.flush()
        elif percent % 10 == 0 or done == total:
            self.stdout.write(line)

    def finish(self) -> None:
        if self.interactive:
            self.stdout.write("")
