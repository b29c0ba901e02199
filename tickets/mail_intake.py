"""The help-desk mailbox becomes tickets: run by the huey consumer every minute (tickets.scheduled).

One run (:func:`run`):

1. **Collect**: a Graph delta query of the inbox, continued from the link stored on the
   ``MailboxConnection``, records every new message as an ``InboundMail`` row (unique per mailbox and
   immutable Graph id). The link is saved after each page, so a restart goes on where it stopped.
2. **Process** every pending row once: count the attempt (committed first, so a message that kills
   the worker is counted too), read the message, and file a ticket, add a public comment, refuse with
   a reply, or ignore it (a machine wrote it). Ticket or comment and the row's outcome are one
   transaction; a row with an outcome is never processed again. After ``MAIL_INTAKE_MAX_ATTEMPTS``
   failed attempts a row is given up ("poison"), keeps its error for the admin and stays in the inbox.
3. **Move** processed messages to ``MAIL_INTAKE_FOLDER`` (never deleted); a failed move is retried on
   the next run.

Replies (a confirmation with the ticket's number and link, a refusal) are e-mails sent with
``Auto-Submitted: auto-replied``, so other systems do not answer them; messages carrying that or any
other sign of a machine (out-of-office, bounces, delivery reports) never file or answer anything.
"""

import base64
import logging
from dataclasses import dataclass, field
from email.utils import parseaddr

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F
from django.template.defaultfilters import filesizeformat
from django.utils import timezone, translation
from django.utils.crypto import get_random_string
from django.utils.translation import gettext as _

from accounts.models import User
from core import microsoft
from teams_app.models import Notification
from tickets import mail_text, services
from tickets.attachments import CheckedFile, check_upload
from tickets.models import InboundMail, MailboxConnection, ProblemSource, Ticket

logger = logging.getLogger(__name__)

Status = InboundMail.Status
BATCH = 50  # rows processed per run; the rest wait a minute
ERROR_MAX = 1000


class RefusedError(Exception):
    """The message is answered with this text and files nothing."""


@dataclass
class RunResult:
    collected: int = 0
    processed: dict[str, int] = field(default_factory=dict)
    error: str = ""


def run() -> RunResult:
    """One run over MAIL_INTAKE_MAILBOX; the outcome is recorded on its MailboxConnection."""
    result = RunResult()
    mailbox = settings.MAIL_INTAKE_MAILBOX
    if not mailbox:
        return result
    connection, _created = MailboxConnection.objects.get_or_create(mailbox=mailbox)
    connection.last_run_at = timezone.now()
    try:
        result.collected = _collect(connection)
        for row in InboundMail.objects.filter(mailbox=mailbox, status=Status.PENDING).order_by("pk")[:BATCH]:
            status = process(row)
            result.processed[status] = result.processed.get(status, 0) + 1
        _move_processed(connection)
    except microsoft.MicrosoftError as error:
        result.error = str(error)
        logger.warning("Reading the mailbox %s failed: %s", mailbox, error)
        connection.last_error = result.error[:ERROR_MAX]
        connection.save(update_fields=["last_run_at", "last_error"])
        return result
    connection.last_success_at = connection.last_run_at
    connection.last_error = ""
    connection.save(update_fields=["last_run_at", "last_success_at", "last_error"])
    return result


def _collect(connection: MailboxConnection) -> int:
    token = microsoft.app_token()
    url = connection.delta_link or microsoft.inbox_delta_url(connection.mailbox)
    new = 0
    while True:
        page = microsoft.inbox_delta_page(url, token=token)
        for item in page.get("value", []):
            if "@removed" in item or not item.get("id"):
                continue  # moved away (by us) or deleted
            _row, created = InboundMail.objects.get_or_create(mailbox=connection.mailbox, graph_id=item["id"])
            new += created
        url = page.get("@odata.nextLink") or page.get("@odata.deltaLink")
        if not url:
            raise microsoft.MicrosoftError("delta answer without a next or delta link", code="delta")
        connection.delta_link = url
        connection.save(update_fields=["delta_link"])
        if "@odata.deltaLink" in page:
            return new


# --- One message ----------------------------------------------------------------------------------


def process(row: InboundMail) -> str:
    """Process one pending row; returns its status afterwards. Failures are recorded on the row."""
    claimed = InboundMail.objects.filter(pk=row.pk, status=Status.PENDING).update(attempts=F("attempts") + 1)
    if not claimed:
        return InboundMail.objects.get(pk=row.pk).status
    row.refresh_from_db()
    if row.attempts > settings.MAIL_INTAKE_MAX_ATTEMPTS:
        # The last attempt did not even finish (the worker died): give up on it as well.
        return _give_up(row, row.last_error or "the processing was interrupted")
    try:
        return _process(row)
    except Exception as error:  # Graph trouble or a message we cannot handle: try again, up to N times
        message = f"{type(error).__name__}: {error}"[:ERROR_MAX]
        logger.exception("Incoming e-mail %s failed (attempt %d)", row.pk, row.attempts)
        if row.attempts >= settings.MAIL_INTAKE_MAX_ATTEMPTS:
            return _give_up(row, message)
        InboundMail.objects.filter(pk=row.pk).update(last_error=message)
        return Status.PENDING


def _give_up(row: InboundMail, error: str) -> str:
    InboundMail.objects.filter(pk=row.pk).update(status=Status.POISON, last_error=error, processed_at=timezone.now())
    logger.error("Incoming e-mail %s given up after %d attempts: %s", row.pk, row.attempts, error)
    return Status.POISON


@dataclass
class _Mail:
    sender: str
    sender_name: str
    subject: str
    message_id: str
    headers: dict[str, str]
    text: str
    has_attachments: bool


def _read(row: InboundMail, token: str) -> _Mail:
    data = microsoft.mailbox_message(row.mailbox, row.graph_id, token=token)
    address = (data.get("from") or data.get("sender") or {}).get("emailAddress") or {}
    headers = {
        str(item.get("name", "")).lower(): str(item.get("value", ""))
        for item in data.get("internetMessageHeaders") or []
    }
    mail = _Mail(
        sender=parseaddr(str(address.get("address") or ""))[1].lower(),
        sender_name=str(address.get("name") or "")[:150],
        subject=" ".join(str(data.get("subject") or "").split())[:255],
        message_id=str(data.get("internetMessageId") or headers.get("message-id", ""))[:500],
        headers=headers,
        text=mail_text.body_text(data.get("body") or {}),
        has_attachments=bool(data.get("hasAttachments")),
    )
    InboundMail.objects.filter(pk=row.pk).update(
        sender=mail.sender, subject=mail.subject, internet_message_id=mail.message_id
    )
    return mail


def _process(row: InboundMail) -> str:
    token = microsoft.app_token()
    mail = _read(row, token)
    reason = mail_text.automatic_reason(mail.headers, mail.sender, mail.subject)
    if not reason and mail.sender in {"", row.mailbox.lower()}:
        reason = "sent by the help-desk mailbox itself" if mail.sender else "no sender"
    if reason:
        return _finish(row, Status.IGNORED, f"Not answered: {reason}.")
    person = User.objects.filter(email__iexact=mail.sender, is_active=True).order_by("pk").first()
    with translation.override(_language(person, mail.headers)):
        try:
            spoofed = mail_text.spoofing_reason(mail.headers)
            if spoofed:
                raise RefusedError(
                    _("Your message did not pass the sender checks of our mail system and was not filed.")
                )
            ticket = _referenced_ticket(mail)
            files, skipped = _attachments(row, mail, token)
            if ticket is not None:
                return _comment(row, mail, person, ticket, files, skipped)
            return _new_ticket(row, mail, person, files, skipped)
        except RefusedError as refusal:
            _reply(row, mail, subject=_("Your message to the IT service desk"), text=str(refusal))
            return _finish(row, Status.REFUSED, str(refusal))


def _language(person: User | None, headers: dict[str, str]) -> str:
    if person is not None and person.language:
        return person.language
    spoken = (headers.get("content-language") or headers.get("accept-language") or "").lower()
    for code, _name in settings.LANGUAGES:
        if spoken.startswith(code):
            return code
    return settings.LANGUAGE_CODE


def _referenced_ticket(mail: _Mail) -> Ticket | None:
    """The ticket this mail answers: by In-Reply-To/References (a mail we sent or read), else by [#123]."""
    ids = mail_text.message_ids(mail.headers.get("in-reply-to", "") + " " + mail.headers.get("references", ""))
    ticket_id = None
    for message_id in reversed(ids):  # the most recent first
        local = message_id[1:-1].partition("@")[0]
        if local.startswith("notification-"):
            number = local.removeprefix("notification-").partition(".")[0]
            if number.isdigit():
                ticket_id = Notification.objects.filter(pk=number).values_list("ticket_id", flat=True).first()
        elif local.startswith("ticket-"):
            number = local.removeprefix("ticket-").partition(".")[0]
            ticket_id = int(number) if number.isdigit() else None
        else:
            ticket_id = (
                InboundMail.objects.filter(internet_message_id=message_id, ticket__isnull=False)
                .values_list("ticket_id", flat=True)
                .first()
            )
        if ticket_id:
            break
    if not ticket_id:
        found = mail_text.TICKET_IN_SUBJECT.search(mail.subject)
        ticket_id = int(found.group(1)) if found else None
    return Ticket.objects.select_related("requester").filter(pk=ticket_id).first() if ticket_id else None


def _attachments(row: InboundMail, mail: _Mail, token: str) -> tuple[list[CheckedFile], list[str]]:
    """The files that pass the upload checks, and a line for each one left out (told to the sender)."""
    if not mail.has_attachments:
        return [], []
    files: list[CheckedFile] = []
    skipped: list[str] = []
    total = 0
    limit = settings.MAIL_INTAKE_MAX_MB * 1024 * 1024
    for item in microsoft.mailbox_attachments(row.mailbox, row.graph_id, token=token):
        name = str(item.get("name") or "attachment")[:255]
        if item.get("@odata.type") != "#microsoft.graph.fileAttachment":
            skipped.append(_("%(name)s: attached e-mails and links are not taken over.") % {"name": name})
            continue
        size = int(item.get("size") or 0)
        if total + size > limit:
            skipped.append(
                _("%(name)s: the attachments together exceed %(limit)s.")
                % {"name": name, "limit": filesizeformat(limit)}
            )
            continue
        if len(files) >= settings.ATTACHMENT_MAX_FILES:
            skipped.append(
                _("%(name)s: at most %(count)d files are taken over.")
                % {"name": name, "count": settings.ATTACHMENT_MAX_FILES}
            )
            continue
        content = base64.b64decode(item.get("contentBytes") or "")
        try:
            files.append(check_upload(SimpleUploadedFile(name, content, str(item.get("contentType") or ""))))
        except ValidationError as error:
            skipped.append(" ".join(error.messages))
            continue
        total += size
    return files, skipped


def _new_ticket(row, mail: _Mail, person, files, skipped) -> str:
    if person is None:
        if settings.MAIL_INTAKE_UNKNOWN_SENDERS != "create":
            raise RefusedError(
                _(
                    "We could not file your message: %(address)s has no account with the IT service desk. "
                    "Please file a ticket at %(url)s or ask IT for an account."
                )
                % {"address": mail.sender, "url": settings.SITE_URL}
            )
        person = _create_account(mail)
    source = ProblemSource.objects.filter(name_en=settings.MAIL_INTAKE_PROBLEM_SOURCE, is_active=True).first()
    if source is None:  # a configuration error: kept pending and retried (and shown in the admin)
        raise ValueError(
            f"No active problem source named {settings.MAIL_INTAKE_PROBLEM_SOURCE!r} (MAIL_INTAKE_PROBLEM_SOURCE)"
        )
    with transaction.atomic():
        ticket = services.ticket_create(
            requester=person,
            problem_source=source,
            title=mail.subject[:200] or _("(no subject)"),
            description=mail.text or _("(no text)"),
            files=files,
            via_email=True,
        )
        status = _finish(row, Status.TICKET, f"Ticket #{ticket.pk}", ticket=ticket)
    text = _("Thank you. Your message was filed as ticket #%(number)d: %(title)s\n\nYou can follow it at %(url)s") % {
        "number": ticket.pk,
        "title": ticket.title,
        "url": _ticket_url(ticket),
    }
    text += "\n\n" + _("Answer this e-mail to add to the ticket.")
    _confirm(row, mail, ticket, text, skipped)
    return status


def _comment(row, mail: _Mail, person, ticket: Ticket, files, skipped) -> str:
    if person is None or not (person.pk == ticket.requester_id or person.is_agent):
        raise RefusedError(
            _(
                "Your message was not added to ticket #%(number)d: only the person who filed it and the IT staff "
                "can add to it by e-mail."
            )
            % {"number": ticket.pk}
        )
    with transaction.atomic():
        services.ticket_comment(ticket=ticket, author=person, body=mail.text or _("(no text)"), files=files)
        status = _finish(row, Status.COMMENT, f"Comment on ticket #{ticket.pk}", ticket=ticket)
    if skipped:
        text = _("Your message was added to ticket #%(number)d (%(url)s).") % {
            "number": ticket.pk,
            "url": _ticket_url(ticket),
        }
        _confirm(row, mail, ticket, text, skipped)
    return status


def _create_account(mail: _Mail) -> User:
    """A local account without a password for an unknown sender (MAIL_INTAKE_UNKNOWN_SENDERS=create)."""
    base = mail.sender.partition("@")[0][:100] or "mail"
    username = base if not User.objects.filter(username__iexact=base).exists() else f"{base}-{get_random_string(6)}"
    name = mail.sender_name if mail.sender_name.lower() != mail.sender else ""
    first, _blank, last = name.partition(" ")
    user = User(username=username, email=mail.sender, first_name=first[:150], last_name=last[:150])
    user.set_unusable_password()
    user.save()
    return user


def _ticket_url(ticket: Ticket) -> str:
    return f"{settings.SITE_URL}{ticket.get_absolute_url()}"


def _finish(row: InboundMail, status: str, outcome: str, *, ticket: Ticket | None = None) -> str:
    InboundMail.objects.filter(pk=row.pk).update(
        status=status, outcome=outcome[:ERROR_MAX], ticket=ticket, processed_at=timezone.now(), last_error=""
    )
    return status


# --- Replies --------------------------------------------------------------------------------------


def _confirm(row, mail: _Mail, ticket: Ticket, text: str, skipped: list[str]) -> None:
    """After the ticket is saved: a failure to send is recorded on the row, the ticket stays."""
    if skipped:
        text += "\n\n" + _("These attachments were not taken over:") + "\n" + "\n".join(f"- {s}" for s in skipped)
    try:
        _reply(row, mail, subject=f"[#{ticket.pk}] {ticket.title}", text=text, ticket=ticket)
    except Exception as error:
        logger.exception("The confirmation of incoming e-mail %s was not sent", row.pk)
        InboundMail.objects.filter(pk=row.pk).update(last_error=f"Confirmation not sent: {error}"[:ERROR_MAX])


def _reply(row, mail: _Mail, *, subject: str, text: str, ticket: Ticket | None = None) -> None:
    domain = row.mailbox.rpartition("@")[2] or "localhost"
    anchor = f"ticket-{ticket.pk}" if ticket is not None else "refusal"
    headers = {
        "Message-ID": f"<{anchor}.mail-{row.pk}@{domain}>",  # a reply to it finds the ticket again
        "Auto-Submitted": "auto-replied",  # RFC 3834: no out-of-office answers, no loops
        "X-Auto-Response-Suppress": "All",
    }
    if mail.message_id:
        headers["In-Reply-To"] = mail.message_id
        headers["References"] = mail.message_id
    EmailMessage(subject=subject, body=text + "\n", to=[mail.sender], headers=headers).send()


# --- Moving processed messages --------------------------------------------------------------------


def _move_processed(connection: MailboxConnection) -> None:
    rows = InboundMail.objects.filter(mailbox=connection.mailbox, moved=False).exclude(
        status__in=[Status.PENDING, Status.POISON]
    )
    if not rows.exists():
        return
    token = microsoft.app_token()
    if not connection.processed_folder_id:
        connection.processed_folder_id = microsoft.mailbox_folder_id(
            connection.mailbox, settings.MAIL_INTAKE_FOLDER, token=token
        )
        connection.save(update_fields=["processed_folder_id"])
    for row in rows.order_by("pk")[:BATCH]:
        try:
            microsoft.mailbox_move(connection.mailbox, row.graph_id, connection.processed_folder_id, token=token)
        except microsoft.MicrosoftError as error:
            if error.status == 404:  # gone already (moved or deleted by a person): nothing left to do
                InboundMail.objects.filter(pk=row.pk).update(moved=True)
                continue
            raise
        InboundMail.objects.filter(pk=row.pk).update(moved=True)
