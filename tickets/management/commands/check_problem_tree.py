"""Check the stored MPTT fields of the problem-source tree; optionally rebuild them first."""

from django.core.management.base import BaseCommand, CommandError

from tickets import problem_sources
from tickets.models import ProblemSource


class Command(BaseCommand):
    help = "Verify the problem-source tree (lft/rght/level/tree_id against the parent links); exits 1 on errors."

    def add_arguments(self, parser):
        parser.add_argument(
            "--rebuild", action="store_true", help="Recompute the tree fields from the parent links, then check."
        )

    def handle(self, *args, rebuild: bool, **options):
        if rebuild:
            problem_sources.problem_tree_rebuild()
            self.stdout.write("Rebuilt the problem-source tree from the parent links.")
        errors = problem_sources.tree_errors()
        if errors:
            for error in errors:
                self.stdout.write(error)
            raise CommandError(f"Problem-source tree is corrupt ({len(errors)} errors); repair it with --rebuild.")
        count = ProblemSource.objects.count()
        self.stdout.write(self.style.SUCCESS(f"Problem-source tree OK ({count} nodes)"))
