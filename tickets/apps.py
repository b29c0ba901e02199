from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TicketsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "tickets"
    verbose_name = _("Tickets")

    def ready(self):
        # Registers the periodic jobs with huey, whose run_huey would only discover a module named "tasks".
        from tickets import scheduled  # noqa: F401
