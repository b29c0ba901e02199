"""Stored XSS (C1) and Markdown link XSS (C2): user text renders as text on every page.

One payload goes into every field a user controls: ticket title, description, comment, problem-source
names and help texts (English and German), first and last name, and attachment file names. Each page
must show it escaped, and never as markup.
"""

import io
import re
from html.parser import HTMLParser

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.html import escape
from PIL import Image

from conftest import make_user
from tickets import problem_sources, services
from tickets.attachments import check_upload
from tickets.models import Attachment, Ticket

PAYLOAD = '<script>alert(1)</script>"><img src=x onerror=alert(1)>'
ESCAPED = escape(PAYLOAD)  # &lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(1)&gt;
# Upload names lose everything up to the last "/", so the file-name payload does without one.
FILE_PAYLOAD = '<svg onload=alert(1)>"><img src=x onerror=alert(2)>.png'
RAW_MARKUP = ["<script>alert(1)", "<img src=x", "<svg onload", "onerror=alert(1)>", "onerror=alert(2)>"]

JS_LINKS = [
    "[md link](javascript:alert(1))",
    "[md upper](JaVaScRiPt:alert(1))",
    "[md spaced]( javascript:alert(1))",
    "[md entity](javascript&#58;alert(1))",
    "[md tab](java\tscript:alert(1))",
    "[md data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[md vb](vbscript:msgbox(1))",
    "<javascript:alert(1)>",
    '<a href="javascript:alert(1)">html link</a>',
    "[ref link][evil]\n\n[evil]: javascript:alert(1)",
    "![img](javascript:alert(1))",
    "[md tab entity](java&#9;script:alert(1))",
    "[md newline entity](jav&#x0A;ascript:alert(1))",
    "[md all entities](&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;&#x3A;alert(1))",
    "[md colon entity](javascript&colon;alert(1))",
    "[md control](\x01javascript:alert(1))",
    "[md angle](<javascript:alert(1)>)",
    "[safe link](https://example.com/help)",
]
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href"}


class _UrlCollector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.urls = []

    def handle_starttag(self, tag, attrs):
        self.urls += [(tag, name, value) for name, value in attrs if name in URL_ATTRIBUTES and value is not None]

    handle_startendtag = handle_starttag


def executable_urls(html: str) -> list[tuple[str, str, str]]:
    """URL attributes of real tags that a browser would run as script (entities already decoded).

    Browsers drop tabs and newlines anywhere in a URL and control characters or spaces around it
    (WHATWG URL parsing); other characters inside the scheme make the URL a harmless relative one.
    """
    collector = _UrlCollector()
    collector.feed(html)
    found = []
    for tag, name, value in collector.urls:
        url = re.sub(r"[\t\n\r]", "", value).strip("".join(map(chr, range(33)))).lower()
        if url.startswith(("javascript:", "vbscript:", "data:")):
            found.append((tag, name, value))
    return found


def png_upload(name: str) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (2, 2), (255, 0, 0)).save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def body_of(response) -> bytes:
    """The whole body of a response. Reading a download to the end makes the test client close it
    (and its file); calling ``close()`` again here would also close the test's database connection."""
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def evil(db, agent):
    """A ticket in which every user-controlled field carries the payload."""
    root = problem_sources.problem_source_create(
        name_en=f"EN{PAYLOAD}", name_de=f"DE{PAYLOAD}", help_text_en=f"HELP{PAYLOAD}", help_text_de=f"HILFE{PAYLOAD}"
    )
    leaf = problem_sources.problem_source_create(parent=root, name_en=f"LEAF{PAYLOAD}", name_de=f"BLATT{PAYLOAD}")
    mallory = make_user("mallory", first_name=PAYLOAD, last_name=PAYLOAD)
    eve = make_user("eve", agent=True, first_name=PAYLOAD, last_name="Agent")
    ticket = services.ticket_create(
        requester=mallory,
        problem_source=leaf,
        title=PAYLOAD,
        description=f"{PAYLOAD}\n\n" + "\n\n".join(JS_LINKS),
        files=[check_upload(png_upload(FILE_PAYLOAD))],
    )
    services.ticket_update(ticket=ticket, actor=agent, assignee=eve, status=Ticket.Status.IN_PROGRESS)
    services.ticket_comment(
        ticket=ticket,
        author=eve,
        body=f"{PAYLOAD}\n\n" + "\n\n".join(JS_LINKS),
        files=[check_upload(png_upload(FILE_PAYLOAD))],
    )
    return {"ticket": ticket, "root": root, "leaf": leaf, "mallory": mallory, "eve": eve}


def assert_escaped(html: str, *, expect: list[str]):
    assert PAYLOAD not in html
    for markup in RAW_MARKUP:
        assert markup not in html, f"raw markup {markup!r} reached the page"
    for text in expect:
        assert text in html, f"{text!r} should be on the page (escaped), so the check above means something"


def page(client, user, url, data=None, language="en"):
    user.language = language
    user.save(update_fields=["language"])
    client.force_login(user)
    response = client.get(url, data or {})
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("who", ["mallory", "eve"])
def test_detail_page_escapes_every_user_field(client, evil, who, language):
    html = page(client, evil[who], evil["ticket"].get_absolute_url(), language=language)

    source_name = escape(f"{'LEAF' if language == 'en' else 'BLATT'}{PAYLOAD}")
    file_name = escape(FILE_PAYLOAD)
    assert_escaped(html, expect=[ESCAPED, source_name, file_name, "&lt;script&gt;alert(1)&lt;/script&gt;"])
    assert html.count(file_name) >= 2  # the chip in the timeline and in the attachment list


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("who", ["mallory", "eve"])
def test_list_page_escapes_every_user_field(client, evil, who, language):
    html = page(client, evil[who], reverse("tickets:list"), language=language)

    assert_escaped(html, expect=[ESCAPED, escape(f"{'LEAF' if language == 'en' else 'BLATT'}{PAYLOAD}")])


def test_list_page_with_payload_in_the_query_string_escapes_it(client, evil):
    html = page(client, evil["eve"], reverse("tickets:list"), {"q": PAYLOAD[:150], "requester": PAYLOAD[:150]})

    assert_escaped(html, expect=[escape(PAYLOAD[:150])])


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("who", ["mallory", "eve"])
def test_dashboard_escapes_every_user_field(client, evil, who, language):
    html = page(client, evil[who], reverse("dashboard"), language=language)

    # The greeting uses the first name, the history the names of people, tickets, sources and files.
    expected = [ESCAPED, escape(FILE_PAYLOAD), escape(f"{'LEAF' if language == 'en' else 'BLATT'}{PAYLOAD}")]
    assert_escaped(html, expect=expected)


def test_agent_dashboard_source_filter_escapes_source_names(client, evil):
    html = page(client, evil["eve"], reverse("dashboard"), {"source": evil["root"].pk})

    assert_escaped(html, expect=[escape(f"EN{PAYLOAD}"), escape(f"LEAF{PAYLOAD}")])


@pytest.mark.parametrize("language", ["en", "de"])
def test_picker_escapes_problem_source_names_and_help_texts(client, evil, language):
    mallory = evil["mallory"]
    root_html = page(client, mallory, reverse("tickets:new"), language=language)
    level_html = page(client, mallory, reverse("tickets:new"), {"source": evil["root"].pk}, language=language)
    form_html = page(client, mallory, reverse("tickets:new"), {"source": evil["leaf"].pk}, language=language)

    name, help_text, leaf = ("EN", "HELP", "LEAF") if language == "en" else ("DE", "HILFE", "BLATT")
    assert_escaped(root_html, expect=[escape(f"{name}{PAYLOAD}"), escape(f"{help_text}{PAYLOAD}")])
    assert_escaped(level_html, expect=[escape(f"{name}{PAYLOAD}"), escape(f"{leaf}{PAYLOAD}")])
    assert_escaped(form_html, expect=[escape(f"{name}{PAYLOAD}"), escape(f"{leaf}{PAYLOAD}")])


def test_ticket_form_errors_escape_the_submitted_values(client, evil):
    client.force_login(evil["mallory"])

    response = client.post(
        reverse("tickets:new"), {"problem_source": evil["leaf"].pk, "title": PAYLOAD, "description": "", "priority": 2}
    )

    assert response.status_code == 400
    assert_escaped(response.content.decode(), expect=[f'value="{ESCAPED}"'])


def test_profile_page_escapes_own_name(client, evil):
    html = page(client, evil["mallory"], reverse("accounts:profile"))

    assert_escaped(html, expect=[f'value="{ESCAPED}"'])


def test_attachment_with_payload_name_downloads_as_attachment(client, evil):
    attachment = Attachment.objects.filter(ticket=evil["ticket"]).first()
    client.force_login(evil["mallory"])

    response = client.get(attachment.get_absolute_url())
    body_of(response)

    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith("attachment; ")
    assert response["X-Content-Type-Options"] == "nosniff"


# --- C2: Markdown links --------------------------------------------------------------------------


def markdown_blocks(html: str) -> str:
    """The rendered Markdown (description and comments) of a detail page."""
    blocks = re.findall(r'<div class="[^"]*markdown[^"]*">(.*?)</div>', html, flags=re.DOTALL)
    assert len(blocks) >= 2, "description and comment should both be on the page"
    return "\n".join(blocks)


@pytest.mark.parametrize("who", ["mallory", "eve"])
def test_dangerous_links_in_description_and_comment_are_dropped(client, evil, who):
    html = page(client, evil[who], evil["ticket"].get_absolute_url())
    rendered = markdown_blocks(html)

    assert executable_urls(html) == []
    assert "<img" not in rendered
    # Safe links survive, hardened; the link texts of dropped links stay as plain text.
    assert rendered.count('<a href="https://example.com/help" rel="noopener noreferrer nofollow">safe link</a>') == 2
    assert rendered.count("md link") == 2


def test_executable_url_detector_finds_what_a_browser_would_run():
    """The detector above must not be blind, or the test using it could never fail."""
    assert executable_urls('<a href="JaVa&#9;Script:alert(1)">x</a><img src= data:image/png;base64,xx>') == [
        ("a", "href", "JaVa\tScript:alert(1)"),
        ("img", "src", "data:image/png;base64,xx"),
    ]
    harmless = '<a href="java   script:x">relative</a><a href="https://example.com">ok</a>&lt;a href="javascript:x"&gt;'
    assert executable_urls(harmless) == []
