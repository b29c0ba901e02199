"""Helpers for the tests of tickets.services: files to attach, a ticket's events and fields, ageing."""

import io
from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from tickets.attachments import check_upload
from tickets.models import Ticket, TicketEvent

Status = Ticket.Status


def png_file(name: str = "screen.png"):
    buffer = io.BytesIO()
    Image.new("RGB", (3, 3), (0, 90, 200)).save(buffer, "PNG")
    return check_upload(SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png"))


def text_file(name: str = "error.log", text: str = "Fehler: Zugriff verweigert\n"):
    return check_upload(SimpleUploadedFile(name, text.encode(), content_type="text/plain"))


def events_of(ticket: Ticket, *kinds: str) -> list[TicketEvent]:
    events = TicketEvent.objects.filter(ticket=ticket).order_by("created_at", "pk")
    if kinds:
        events = events.filter(kind__in=kinds)
    return list(events)


def snapshot(ticket: Ticket) -> dict:
    ticket = Ticket.objects.get(pk=ticket.pk)
    return {
        field: getattr(ticket, field)
        for field in (
            "status",
            "priority",
            "assignee_id",
            "problem_source_id",
            "due_date",
            "updated_at",
            "resolved_at",
            "closed_at",
        )
    }


def age(ticket: Ticket, *, days: float, **extra) -> None:
    """Move the ticket's finish time back, as if it had been resolved/closed ``days`` ago."""
    moment = timezone.now() - timedelta(days=days)
    fields = {"resolved_at": moment, **extra}
    if Ticket.objects.get(pk=ticket.pk).status == Status.CLOSED:
        fields["closed_at"] = moment
    Ticket.objects.filter(pk=ticket.pk).update(**fields)
