"""Check what the database keeps by triggers (tickets.derived); optionally rebuild it first."""

from django.core.management.base import BaseCommand, CommandError

from tickets.derived import derived_here


class Command(BaseCommand):
    help = (
        "Verify the data kept by database triggers (status counts; search documents on PostgreSQL) "
        "against the tickets, and that the triggers exist; exits 1 on problems."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--rebuild", action="store_true", help="Install the triggers again and recompute the data, then check."
        )

    def handle(self, *args, rebuild: bool, **options):
        problems = 0
        for item in derived_here():
            if rebuild:
                item.rebuild()
                self.stdout.write(f"Rebuilt the {item.name}.")
            found = item.check()
            for problem in found:
                self.stdout.write(f"{item.name}: {problem}")
            if not found:
                self.stdout.write(self.style.SUCCESS(f"{item.name.capitalize()} OK"))
            problems += len(found)
        if problems:
            raise CommandError(f"{problems} problems in data kept by triggers; repair them with --rebuild.")
