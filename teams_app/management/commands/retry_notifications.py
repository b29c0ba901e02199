from django.core.management.base import BaseCommand

from teams_app.models import STALE_SENDING_AFTER, Notification


class Command(BaseCommand):
    help = (
        "Queue dead notifications for delivery again, and those left in 'sending' for more than "
        f"{int(STALE_SENDING_AFTER.total_seconds() // 60)} minutes by a worker that died (they may arrive twice)."
    )

    def handle(self, *args, **options):
        count = Notification.objects.exclude(status=Notification.Status.FAILED).requeue()
        self.stdout.write(f"{count} notification(s) queued again.")
