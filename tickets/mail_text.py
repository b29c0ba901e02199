"""Reading an incoming e-mail: its body as plain text without quoted history and signature, and whether
it was written by a machine (out-of-office, bounce, auto-reply), which must never file or answer anything.

No HTML from a mail ever reaches a page: the body is reduced to text here (nh3 strips every tag), and
descriptions and comments are rendered as sanitised Markdown as always.
"""

import html
import re

import nh3

# Outlook marks where the quoted message starts; everything from there is history.
_HTML_HISTORY = re.compile(
    r'<div[^>]+id="?(?:divRplyFwdMsg|appendonsend|mail-editor-reference-message-container)"?[^>]*>'
    r"|<blockquote[^>]*type=\"?cite\"?[^>]*>"
    r'|<div[^>]+class="?gmail_quote"?[^>]*>',
    re.IGNORECASE,
)
_BLOCK_END = re.compile(r"<br\s*/?>|</(?:p|div|li|tr|h[1-6]|blockquote|pre|table)>", re.IGNORECASE)

# A line that starts quoted history (English and German mail programs) ...
_HISTORY_LINE = re.compile(
    r"^\s*(?:-{2,}\s*(?:Original Message|Ursprüngliche Nachricht|Forwarded message|Weitergeleitete Nachricht)\s*-{2,}"
    r"|_{10,}"
    r"|(?:From|Von):\s.+"
    r"|On .{1,300} wrote:"
    r"|Am .{1,300} schrieb.{0,200}:"
    r")\s*$",
    re.IGNORECASE,
)
# ... and the signature delimiter ("-- "), and the usual closings of mobile mail.
_SIGNATURE_LINE = re.compile(
    r"^(?:-- ?|Sent from my .{1,40}|Von meinem .{1,40} gesendet|Gesendet von .{1,40})$", re.IGNORECASE
)

MAX_TEXT = 20000  # what a description or comment holds


def html_to_text(content: str) -> str:
    """Text of an HTML body: the history cut off, line breaks kept, every tag and script removed."""
    cut = _HTML_HISTORY.search(content)
    if cut:
        content = content[: cut.start()]
    content = _BLOCK_END.sub("\n", content)
    text = html.unescape(nh3.clean(content, tags=set()))
    return text.replace("\xa0", " ")


def trim_reply(text: str) -> str:
    """The new part of a mail's text: up to quoted history or the signature, blank runs collapsed."""
    kept: list[str] = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if _HISTORY_LINE.match(line) or _SIGNATURE_LINE.match(line.rstrip()):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line.rstrip())
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
    return text[:MAX_TEXT]


def body_text(body: dict) -> str:
    """Graph's ``body`` ({"contentType": "html"|"text", "content"}) as trimmed text."""
    content = str(body.get("content") or "")
    if str(body.get("contentType", "")).lower() == "html":
        content = html_to_text(content)
    return trim_reply(content)


_AUTO_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
_DAEMONS = {"mailer-daemon", "postmaster", "microsoftexchange329e71ec88ae4615bbc36ab6ce41109e"}
_AUTO_SUBJECTS = re.compile(
    r"^(?:Automatic reply|Automatische Antwort|Auto(?:matic)?[- ]?Reply|Out of Office|Abwesenheitsnotiz"
    r"|Undeliverable|Unzustellbar|Delivery Status Notification|Mail delivery failed|Returned mail)\s*:",
    re.IGNORECASE,
)


def automatic_reason(headers: dict[str, str], sender: str, subject: str) -> str:
    """Why this message was sent by a machine (RFC 3834 and the headers Exchange sets), or ""."""
    auto_submitted = headers.get("auto-submitted", "").strip().lower()
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}"
    if "x-auto-response-suppress" in headers:
        return f"X-Auto-Response-Suppress: {headers['x-auto-response-suppress']}"
    for name in ("x-autoreply", "x-autorespond"):
        if name in headers:
            return f"{name}: {headers[name]}"
    if headers.get("precedence", "").strip().lower() in _AUTO_PRECEDENCE:
        return f"Precedence: {headers['precedence']}"
    if headers.get("content-type", "").strip().lower().startswith("multipart/report"):
        return "a delivery or read report"
    if headers.get("return-path", "").strip() == "<>":
        return "an empty Return-Path (a bounce)"
    if sender.partition("@")[0].lower() in _DAEMONS:
        return f"sent by {sender}"
    if _AUTO_SUBJECTS.match(subject or ""):
        return f"subject: {subject[:80]}"
    return ""


def spoofing_reason(headers: dict[str, str]) -> str:
    """Exchange Online Protection's verdict that the From address is forged (DMARC or composite
    authentication failed), or ""."""
    results = headers.get("authentication-results", "").lower()
    for verdict in ("dmarc=fail", "compauth=fail"):
        if verdict in results:
            return verdict
    return ""


def message_ids(value: str) -> list[str]:
    """The <...> message ids in an In-Reply-To or References header."""
    return re.findall(r"<[^<>\s]{1,490}>", value or "")


TICKET_IN_SUBJECT = re.compile(r"\[#(\d{1,12})\]")
