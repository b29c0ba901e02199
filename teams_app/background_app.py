from background_task.apps import BackgroundTasksAppConfig


class BackgroundTasksConfig(BackgroundTasksAppConfig):
    """django-background-tasks as installed, with the AutoField its own migrations created: with the
    project's DEFAULT_AUTO_FIELD (BigAutoField) it would otherwise want a migration inside the library."""

    default_auto_field = "django.db.models.AutoField"
