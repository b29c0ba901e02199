"""The fake Microsoft Graph with Exchange mailboxes: ``sendMail`` (MIME), inbox delta queries, messages
with headers and attachments, folders and moves. Served over real local HTTP like ``FakeGraph``,
whose token checks and scripted answers it shares::

    with FakeMailGraph(jwks_url=..., issuers=..., tenant_id=..., client_id=...) as graph:
        graph.add_mailbox("it@contoso.example")
        message_id = graph.deliver("it@contoso.example", sender="erika@contoso.example", subject="Hi", body="...")
        ...                                   # graph.sent: the MIME messages sent, parsed

It checks what Exchange checks where a client could notice: the role (``Mail.Send`` to send,
``Mail.ReadWrite`` to read and move), a mailbox the app may use (Exchange RBAC for Applications
answers 403 for the others; an unknown one is 404), MIME sent as base64 with the mailbox as From
(anything else needs "Send As": 403), and Graph's 4 MB request limit. Ids are immutable (the app asks
for ``IdType="ImmutableId"``): a moved message keeps its id.
"""

from __future__ import annotations

import base64
import binascii
import email
import email.policy
import re
import uuid
from dataclasses import dataclass, field
from email.utils import getaddresses, parseaddr
from typing import Any
from urllib.parse import parse_qs, unquote

from devtools.fake_graph import FakeGraph, GraphRequest, _Answer, _GraphError

USER_PATH = re.compile(r"^/v1\.0/users/([^/]+)(/.*)$")
SEND_LIMIT_BYTES = 4 * 1024 * 1024
DELTA_PAGE_SIZE = 2


@dataclass
class _Mailbox:
    address: str
    allowed: bool = True
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> Graph message (+ "_folder")
    folders: dict[str, str] = field(default_factory=dict)  # id -> display name
    log: list[tuple[int, str]] = field(default_factory=list)  # (sequence, id) of arrivals in the inbox


class FakeMailGraph(FakeGraph):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.mailboxes: dict[str, _Mailbox] = {}
        self.sent: list[email.message.EmailMessage] = []
        self.broken: set[str] = set()  # message ids whose reading answers 500, every time
        self._sequence = 0

    def reset(self) -> None:
        super().reset()
        with self._lock:
            self.mailboxes.clear()
            self.sent.clear()
            self.broken.clear()

    # --- Knobs ---

    def add_mailbox(self, address: str, *, allowed: bool = True) -> None:
        """``allowed`` False: outside the app's RBAC management scope."""
        self.mailboxes[address.lower()] = _Mailbox(address, allowed=allowed)

    def deliver(
        self,
        mailbox: str,
        *,
        sender: str,
        subject: str,
        body: str,
        html: bool = False,
        headers: dict[str, str] | None = None,
        attachments: tuple[tuple[str, str, bytes], ...] = (),
        sender_name: str = "",
        inline: bool = False,
    ) -> str:
        """A message arrives in the inbox; ``attachments`` are (name, content type, bytes)."""
        box = self.mailboxes[mailbox.lower()]
        message_id = f"AAMk{uuid.uuid4().hex}"
        headers = {"Message-ID": f"<{uuid.uuid4().hex}@mail.example>", **(headers or {})}
        message = {
            "id": message_id,
            "internetMessageId": headers["Message-ID"],
            "subject": subject,
            "from": {"emailAddress": {"name": sender_name or sender, "address": sender}},
            "sender": {"emailAddress": {"name": sender_name or sender, "address": sender}},
            "toRecipients": [{"emailAddress": {"name": box.address, "address": box.address}}],
            "receivedDateTime": "2026-03-02T09:00:00Z",
            "body": {"contentType": "html" if html else "text", "content": body},
            "hasAttachments": bool(attachments),
            "internetMessageHeaders": [{"name": name, "value": value} for name, value in headers.items()],
            "_folder": "inbox",
            "_attachments": [
                {
                    "@odata.type": "#microsoft.graph.fileAttachment",
                    "id": f"att{index}",
                    "name": name,
                    "contentType": content_type,
                    "size": len(content),
                    "isInline": inline,
                    "contentBytes": base64.b64encode(content).decode(),
                }
                for index, (name, content_type, content) in enumerate(attachments)
            ],
        }
        with self._lock:
            box.messages[message_id] = message
            self._sequence += 1
            box.log.append((self._sequence, message_id))
        return message_id

    def folder_of(self, mailbox: str, message_id: str) -> str:
        """ "inbox" or the display name of the folder the message was moved to."""
        box = self.mailboxes[mailbox.lower()]
        folder = box.messages[message_id]["_folder"]
        return box.folders.get(folder, folder)

    def requests_to(self, suffix: str) -> list[GraphRequest]:
        return [request for request in self.requests if request.path.endswith(suffix)]

    # --- Handling ---

    def _route(self, request: GraphRequest) -> _Answer:
        match = USER_PATH.match(request.path)
        if not match:
            return super()._route(request)
        box = self.mailboxes.get(unquote(match.group(1)).lower())
        path, method = match.group(2), request.method
        role = "Mail.Send" if path == "/sendMail" else "Mail.ReadWrite"
        self._check_app_token(request.header("Authorization"), role=role)
        if box is None:
            raise _GraphError(404, "ErrorInvalidUser", f"The requested user '{unquote(match.group(1))}' is invalid.")
        if not box.allowed:
            raise _GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
        if path == "/sendMail" and method == "POST":
            return self._send_mail(box, request)
        if path == "/mailFolders/inbox/messages/delta" and method == "GET":
            return self._delta(box, request)
        if path == "/mailFolders" and method == "GET":
            return self._find_folder(box, request)
        if path == "/mailFolders" and method == "POST":
            folder_id = f"folder-{uuid.uuid4().hex[:8]}"
            box.folders[folder_id] = request.body["displayName"]
            return _Answer(201, {"id": folder_id, "displayName": request.body["displayName"]})
        parts = re.fullmatch(r"/messages/([^/]+)(/attachments|/move)?", path)
        if parts:
            message = box.messages.get(unquote(parts.group(1)))
            if message is None:
                raise _GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
            if message["id"] in self.broken:
                raise _GraphError(500, "ErrorInternalServerError", "Broken message.")
            if parts.group(2) is None and method == "GET":
                return _Answer(200, {key: value for key, value in message.items() if not key.startswith("_")})
            if parts.group(2) == "/attachments" and method == "GET":
                return _Answer(200, {"value": message["_attachments"]})
            if parts.group(2) == "/move" and method == "POST":
                return self._move(box, message, request)
        return super()._route(request)

    def _send_mail(self, box: _Mailbox, request: GraphRequest) -> _Answer:
        raw = request.body if isinstance(request.body, str) else ""
        if len(raw) > SEND_LIMIT_BYTES:
            raise _GraphError(413, "ErrorMessageSizeExceeded", "The message exceeds the maximum supported size.")
        if request.header("Content-Type") != "text/plain":
            raise _GraphError(400, "ErrorInvalidRequest", "MIME content must be sent as text/plain.")
        try:
            mime = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise _GraphError(
                400, "ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME content."
            ) from None
        message = email.message_from_bytes(mime, policy=email.policy.default)
        if not getaddresses(message.get_all("To", []) + message.get_all("Cc", []) + message.get_all("Bcc", [])):
            raise _GraphError(400, "ErrorInvalidRecipients", "At least one recipient is not valid.")
        if parseaddr(str(message["From"] or ""))[1].lower() != box.address.lower():
            raise _GraphError(
                403,
                "ErrorSendAsDenied",
                "The account does not have the right to send mail on behalf of the specified sending account.",
            )
        with self._lock:
            self.sent.append(message)
        return _Answer(202)

    def _delta(self, box: _Mailbox, request: GraphRequest) -> _Answer:
        query = parse_qs(request.query)
        after = int((query.get("$deltatoken") or query.get("$skiptoken") or ["0"])[0])
        with self._lock:
            arrivals = [(seq, mid) for seq, mid in box.log if seq > after]
        page, rest = arrivals[:DELTA_PAGE_SIZE], arrivals[DELTA_PAGE_SIZE:]
        value = []
        for _seq, mid in page:
            message = box.messages[mid]
            if message["_folder"] == "inbox":
                value.append({"id": mid})
            else:  # moved away since it arrived
                value.append({"id": mid, "@removed": {"reason": "deleted"}})
        last = page[-1][0] if page else after
        base = f"{self.url}{request.path}"
        link = (
            {"@odata.nextLink": f"{base}?$skiptoken={last}"}
            if rest
            else {"@odata.deltaLink": f"{base}?$deltatoken={last}"}
        )
        return _Answer(200, {"value": value, **link})

    def _find_folder(self, box: _Mailbox, request: GraphRequest) -> _Answer:
        wanted = re.search(r"displayName eq '((?:[^']|'')*)'", unquote(request.query).replace("+", " "))
        name = wanted.group(1).replace("''", "'") if wanted else None
        return _Answer(200, {"value": [{"id": fid, "displayName": n} for fid, n in box.folders.items() if n == name]})

    def _move(self, box: _Mailbox, message: dict, request: GraphRequest) -> _Answer:
        destination = (request.body or {}).get("destinationId")
        if destination not in box.folders:
            raise _GraphError(400, "ErrorInvalidIdMalformed", "Id is malformed.")
        message["_folder"] = destination
        return _Answer(201, {key: value for key, value in message.items() if not key.startswith("_")})
