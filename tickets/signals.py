"""Receivers that keep cached data honest (connected in TicketsConfig.ready)."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from core.fragments import bump
from tickets.models import SavedTicketFilter


@receiver(post_save, sender=SavedTicketFilter, dispatch_uid="saved-lists-saved")
@receiver(post_delete, sender=SavedTicketFilter, dispatch_uid="saved-lists-deleted")
def saved_lists_changed(**kwargs) -> None:
    """Every agent's sidebar may show a list (shared ones), so all of them are read anew (now, and
    again when the transaction commits: see ``bump``)."""
    bump("saved-lists")
