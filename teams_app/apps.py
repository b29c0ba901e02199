from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TeamsAppConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "teams_app"
    verbose_name = _("Microsoft Teams")

    def ready(self):
        # The delivery task registers itself with django-background-tasks on import; its worker would
        # only find a module named "tasks".
        from teams_app import delivery_queue, message_images  # noqa: F401
