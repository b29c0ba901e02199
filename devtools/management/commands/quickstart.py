"""Set up a demo installation in one step: migrate, load the demo data, serve on port 8000."""

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from devtools import demo_content, demo_data


class Command(BaseCommand):
    help = (
        "Migrate the database, load demo accounts, problem sources and tickets, and start the development "
        "server. Only with DEBUG on: the demo accounts have well-known passwords."
    )

    def add_arguments(self, parser):
        parser.add_argument("--no-serve", action="store_true", help="Set up the data but do not start the server.")
        parser.add_argument(
            "--addrport", default="127.0.0.1:8000", help="Address and port to serve on (default 127.0.0.1:8000)."
        )
        parser.add_argument(
            "--with-workers",
            action="store_true",
            help="Also run the notification worker and the huey scheduler; Ctrl-C stops all three.",
        )

    def handle(self, *args, no_serve: bool, addrport: str, with_workers: bool, verbosity: int, **options):
        if not settings.DEBUG:
            raise CommandError(
                "quickstart creates accounts with well-known passwords (admin/admin, agent/agent, employee/employee) "
                "and therefore only runs with DEBUG on. Start it as: DEBUG=1 python manage.py quickstart"
            )
        call_command("migrate", interactive=False, verbosity=verbosity)

        report = demo_data.load_demo_data()
        self.stdout.write(
            f"Demo data: {len(report.users_created)} accounts, {report.nodes_created} problem sources, "
            f"{report.teams_created} IT teams and "
            f"{report.tickets_created} tickets created (existing data is left as it is)."
        )
        self.stdout.write("Sign in with:")
        for user in demo_content.DEMO_USERS:
            if not user.password:
                continue
            note = "" if user.username in report.users_created else "  (existing account, password unchanged)"
            login = f"{user.username} / {user.password}"
            self.stdout.write(f"  {login:<22} {demo_content.ROLE_LABELS[user.role]}{note}")

        if not no_serve and with_workers:
            self.serve_with_workers(addrport)
        elif not no_serve:
            # Become a plain `runserver`: its autoreloader then restarts only the server on code
            # changes, instead of running this whole command again in a child process.
            self.stdout.flush()
            manage_py = str(Path(settings.BASE_DIR) / "manage.py")
            os.execv(sys.executable, [sys.executable, manage_py, "runserver", addrport])  # noqa: S606

    def serve_with_workers(self, addrport: str) -> None:
        """runserver in the foreground, the worker and the scheduler beside it. Ctrl-C reaches all
        three (one process group); whatever is still running when the server ends is stopped here."""
        manage_py = str(Path(settings.BASE_DIR) / "manage.py")
        self.stdout.write("Starting the notification worker (run_worker) and the scheduler (run_huey).")
        self.stdout.flush()
        helpers = [
            subprocess.Popen([sys.executable, manage_py, command])  # noqa: S603
            for command in ("run_worker", "run_huey")
        ]
        try:
            subprocess.call([sys.executable, manage_py, "runserver", addrport])  # noqa: S603
        except KeyboardInterrupt:
            pass
        finally:
            for helper in helpers:
                if helper.poll() is None:
                    helper.terminate()
            for helper in helpers:
                try:
                    helper.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    helper.kill()
