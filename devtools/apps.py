from django.apps import AppConfig


class DevtoolsConfig(AppConfig):
    """Tools for developers, tests and the benchmark; installed only with ``DEVTOOLS`` (see core/settings.py).

    Production code never imports this package (core/tests/test_layout.py checks that)."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "devtools"
    verbose_name = "Developer tools"
