"""A Django e-mail backend that sends through Microsoft Graph (``EMAIL_URL=graph://it@contoso.com``).

Exchange Online switches Basic authentication for SMTP off: this sends as the help-desk mailbox with
an app-only token (application permission ``Mail.Send``, restricted to that mailbox by Exchange's
RBAC for Applications). Every message goes as MIME (``POST /users/{mailbox}/sendMail``), so what
Django builds arrives unchanged: the text and HTML alternatives, attachments and the headers the app
sets (a stable Message-ID, ``Auto-Submitted``), which Graph's JSON form would not allow (it takes only
``X-`` headers).

One attempt per message; a failure raises :class:`core.microsoft.MicrosoftError` (unless
``fail_silently``), which says whether it is permanent and how long Graph asked to wait. The
notification outbox (``teams_app.delivery``) retries on that, like for Teams; Django's password reset
logs it. Nothing here talks HTTP itself: ``core.microsoft`` does.
"""

import logging
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend

from core import microsoft

logger = logging.getLogger(__name__)


class GraphEmailBackend(BaseEmailBackend):
    def __init__(self, fail_silently: bool = False, mailbox: str | None = None, **kwargs) -> None:
        super().__init__(fail_silently=fail_silently, **kwargs)
        self.mailbox = mailbox or settings.EMAIL_GRAPH_MAILBOX

    def send_messages(self, email_messages) -> int:
        sent = 0
        for message in email_messages:
            if not message.recipients():
                continue
            try:
                self._send(message)
            except microsoft.MicrosoftError as error:
                logger.warning("Sending e-mail through Graph failed: %s", error)
                if not self.fail_silently:
                    raise
            else:
                sent += 1
        return sent

    def _send(self, message) -> None:
        # Exchange sends as the mailbox; another From would need "Send As" rights and be refused.
        name, address = parseaddr(message.from_email or settings.DEFAULT_FROM_EMAIL)
        if address.lower() != self.mailbox.lower():
            message.from_email = formataddr((name, self.mailbox))
        # Bcc recipients are not in the MIME headers; Graph reads the recipients from the headers.
        mime = message.message()
        if message.bcc:
            mime["Bcc"] = ", ".join(message.bcc)
        microsoft.send_mime(self.mailbox, mime.as_bytes(linesep="\r\n"), token=microsoft.app_token())
