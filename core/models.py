from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Heartbeat(models.Model):
    """The last sign of life of a background process ("worker", "scheduler"), read by /healthz.

    In the database rather than a cache, so that every web replica (and development without Redis)
    sees the same value.
    """

    name = models.CharField(_("name"), max_length=40, unique=True)
    beat_at = models.DateTimeField(_("last beat"), default=timezone.now)

    class Meta:
        verbose_name = _("heartbeat")
        verbose_name_plural = _("heartbeats")

    def __str__(self) -> str:
        return f"{self.name} at {self.beat_at:%Y-%m-%d %H:%M:%S}"

    @classmethod
    def beat(cls, name: str) -> None:
        cls.objects.update_or_create(name=name, defaults={"beat_at": timezone.now()})

    @classmethod
    def ages(cls, *names: str) -> dict[str, float | None]:
        """Seconds since each named process last beat; None for one that never did."""
        now = timezone.now()
        seen = dict(cls.objects.filter(name__in=names).values_list("name", "beat_at"))
        return {name: (now - seen[name]).total_seconds() if name in seen else None for name in names}
