from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TeamsAppConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "teams_app"
    verbose_name = _("Microsoft Teams")
