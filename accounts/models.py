from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _


def display_name(first_name: str | None, last_name: str | None, username: str | None) -> str:
    """How a person is named on every page: the full name, else the username; "" for nobody (the
    values of a missing person, from ``values()`` rows that join a person who is not there)."""
    return f"{first_name or ''} {last_name or ''}".strip() or (username or "")


class User(AbstractUser):
    class Theme(models.TextChoices):
        AUTO = "auto", _("System")
        LIGHT = "light", _("Light")
        DARK = "dark", _("Dark")

    language = models.CharField(
        _("language"),
        max_length=8,
        blank=True,
        choices=settings.LANGUAGES,
        help_text=_("Empty: follow the browser."),
    )
    theme = models.CharField(_("colour mode"), max_length=8, choices=Theme.choices, default=Theme.AUTO)
    # Filled from Microsoft Graph at each Microsoft sign-in.
    job_title = models.CharField(_("job title"), max_length=200, blank=True)
    department = models.CharField(_("department"), max_length=200, blank=True)
    office_location = models.CharField(_("office"), max_length=200, blank=True)
    # IT staff away (holiday, sick): automatic assignment skips them from the first to the last day.
    absent_from = models.DateField(_("absent from"), null=True, blank=True)
    absent_until = models.DateField(_("absent until"), null=True, blank=True)

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return display_name(self.first_name, self.last_name, self.username)

    @cached_property
    def is_agent(self) -> bool:
        """IT staff: members of the IT staff group, and superusers. Cached for one request; no query
        for a user loaded by ``accounts.backends.users_with_roles()`` (the signed-in user is)."""
        if not self.is_active:
            return False
        if self.is_superuser:
            return True
        in_group = self.__dict__.get("in_it_staff_group")
        if in_group is None:
            in_group = self.groups.filter(name=settings.IT_STAFF_GROUP).exists()
        return in_group

    def clean(self):
        super().clean()
        if bool(self.absent_from) != bool(self.absent_until):
            raise ValidationError(_("Give the first and the last day of the absence, or neither."))
        if self.absent_from and self.absent_until < self.absent_from:
            raise ValidationError({"absent_until": _("The last day lies before the first day.")})

    def is_absent_on(self, day) -> bool:
        return bool(self.absent_from and self.absent_until and self.absent_from <= day <= self.absent_until)
