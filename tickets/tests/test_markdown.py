"""Rendered Markdown is sanitised: raw markup is escaped and only safe link targets survive (C1, C2)."""

import html
import re
from html.parser import HTMLParser

import pytest
from django.template import Context, Template
from django.utils.safestring import SafeString

from tickets.markdown import ALLOWED_TAGS, render_markdown

DANGEROUS_SCHEMES = {"javascript", "data", "vbscript"}


class _Elements(HTMLParser):
    """Every start tag with its attributes, as a browser would parse the output."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def elements(rendered: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Elements()
    parser.feed(rendered)
    parser.close()
    return parser.elements


def links(rendered: str) -> list[dict[str, str | None]]:
    return [attrs for tag, attrs in elements(rendered) if tag == "a"]


def browser_scheme(url: str) -> str | None:
    """The scheme a browser would see (WHATWG URL parsing): entities decoded, C0/space trimmed,
    tabs and newlines removed anywhere; None for a relative URL."""
    url = html.unescape(url).strip("".join(chr(code) for code in range(0x21)))
    url = re.sub(r"[\t\n\r]", "", url)
    match = re.match(r"([a-zA-Z][a-zA-Z0-9+.\-]*):", url)
    return match.group(1).lower() if match else None


def assert_no_dangerous_url(rendered: str) -> None:
    for tag, attrs in elements(rendered):
        for name, value in attrs.items():
            if name in {"href", "src", "action", "formaction", "xlink:href", "background", "poster"} and value:
                assert browser_scheme(value) not in DANGEROUS_SCHEMES, (tag, name, value)


def assert_no_active_markup(rendered: str) -> None:
    for tag, attrs in elements(rendered):
        assert tag in ALLOWED_TAGS, tag
        assert not [name for name in attrs if name.startswith("on")], (tag, attrs)
        assert "style" not in attrs
    assert_no_dangerous_url(rendered)


# --- Raw HTML in the source is shown as text ----------------------------------------------------


@pytest.mark.parametrize(
    ("source", "visible_text"),
    [
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("<SCRIPT SRC=//evil.example/x.js></SCRIPT>", "&lt;SCRIPT SRC=//evil.example/x.js&gt;"),
        ('<img src=x onerror="alert(1)">', "&lt;img src=x onerror="),
        ('<iframe src="https://evil.example"></iframe>', "&lt;iframe"),
        ('<a href="javascript:alert(1)">click</a>', "&lt;a href="),
        ('<div onclick="alert(1)">hi</div>', "&lt;div onclick="),
        ('<svg onload="alert(1)"><circle/></svg>', "&lt;svg onload="),
        ("<style>body{display:none}</style>", "&lt;style&gt;"),
        ('<form action="https://evil.example"><input name=pw></form>', "&lt;form"),
        ('<object data="evil.swf"></object>', "&lt;object"),
        ('<p style="background:url(javascript:alert(1))">x</p>', "&lt;p style="),
        ("<scr<script>ipt>alert(1)</script>", "&lt;scr&lt;script&gt;ipt&gt;"),
        ("<!-- --><script>alert(1)</script>", "&lt;script&gt;"),
        ("<details open ontoggle=alert(1)>", "&lt;details open ontoggle=alert(1)&gt;"),
    ],
)
def test_raw_html_is_escaped_not_executed(source, visible_text):
    rendered = render_markdown(source)

    assert visible_text in rendered
    assert_no_active_markup(rendered)
    # Only the wrapping paragraph survives as a real element.
    assert [tag for tag, _attrs in elements(rendered)] == ["p"]


def test_html_block_between_paragraphs_is_escaped():
    rendered = render_markdown("Intro\n\n<div>\n<script>alert(1)</script>\n</div>\n\nOutro")

    assert "<script>" not in rendered
    assert "&lt;script&gt;" in rendered
    assert "<p>Intro</p>" in rendered
    assert_no_active_markup(rendered)


def test_markup_inside_code_stays_literal():
    rendered = render_markdown("`<img src=x onerror=alert(1)>`\n\n```\n<script>alert(2)</script>\n```")

    assert "<code>&lt;img src=x onerror=alert(1)&gt;</code>" in rendered
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in rendered
    assert_no_active_markup(rendered)


def test_link_title_cannot_break_out_of_its_attribute():
    rendered = render_markdown('[x](https://example.com "a\\" onmouseover=\\"alert(1)")')

    assert_no_active_markup(rendered)
    assert links(rendered)[0]["href"] == "https://example.com"


def test_image_syntax_does_not_produce_images():
    rendered = render_markdown("![tracker](https://evil.example/pixel.png)")

    assert "<img" not in rendered
    assert_no_active_markup(rendered)


# --- javascript:, data:, vbscript: links are dropped in every spelling --------------------------


@pytest.mark.parametrize(
    "target",
    [
        "javascript:alert(1)",
        "JAVASCRIPT:alert(1)",
        "JaVaScRiPt:alert(1)",
        "javascript:alert(document.cookie)//https://example.com",
        "&#106;avascript:alert(1)",
        "&#x6A;avascript:alert(1)",
        "&#0000106;&#0000097;vascript:alert(1)",
        "javascript&colon;alert(1)",
        "java&#9;script:alert(1)",
        "java&#x0A;script:alert(1)",
        "java&Tab;script:alert(1)",
        "<javascript:alert(1)>",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "DATA:text/html,<script>alert(1)</script>",
        "data:image/svg+xml,<svg onload=alert(1)>",
        "vbscript:msgbox(1)",
        "VBScript:MsgBox(1)",
        "&#118;bscript:msgbox(1)",
    ],
)
def test_dangerous_inline_link_has_no_href(target):
    rendered = render_markdown(f"[click me](  {target})")

    assert "click me" in rendered
    assert_no_dangerous_url(rendered)
    assert all("href" not in attrs for attrs in links(rendered)), rendered


@pytest.mark.parametrize(
    "target",
    [
        "java\tscript:alert(1)",
        "\tjavascript:alert(1)",
        " javascript:alert(1)",
        "   JavaScript:alert(1)",
        "%6Aavascript:alert(1)",
        "%20javascript:alert(1)",
        "javas%63ript:alert(1)",
        "\x01javascript:alert(1)",
        "jav\u0000ascript:alert(1)",
        "javascript\u200b:alert(1)",
    ],
)
def test_obfuscated_dangerous_link_never_reaches_a_browser_as_script(target):
    # Some spellings survive as harmless relative links; none may parse as a script URL.
    rendered = render_markdown(f"[click me]({target})")

    assert_no_active_markup(rendered)


@pytest.mark.parametrize(
    "source",
    [
        "[ref]: javascript:alert(1)\n\nSee [the docs][ref].",
        "[ref]: <data:text/html,<script>alert(1)</script>>\n\nSee [ref].",
        "<javascript:alert(1)>",
        "<vbscript:msgbox(1)>",
        "[a](javascript:alert(1)) and [b](https://example.com) and [c](data:,x)",
    ],
)
def test_reference_links_and_autolinks_with_dangerous_targets_are_dropped(source):
    rendered = render_markdown(source)

    assert_no_dangerous_url(rendered)
    assert "javascript:" not in rendered.lower() or "&lt;javascript:" in rendered.lower()


# --- Safe links and formatting survive ----------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "href"),
    [
        ("[wiki](https://wiki.example.com/printer?floor=2&room=b)", "https://wiki.example.com/printer?floor=2&room=b"),
        ("[old](http://intranet.example.com/)", "http://intranet.example.com/"),
        ("[mail IT](mailto:it@example.com)", "mailto:it@example.com"),
        ("<https://status.example.com>", "https://status.example.com"),
        ("[up](HTTPS://EXAMPLE.COM/)", "HTTPS://EXAMPLE.COM/"),
    ],
)
def test_safe_links_are_kept_with_noopener(source, href):
    found = links(render_markdown(source))

    assert len(found) == 1
    assert found[0]["href"] == href
    assert set(found[0]["rel"].split()) >= {"noopener", "noreferrer", "nofollow"}


def test_link_rel_supplied_by_the_author_cannot_drop_noopener():
    # Attribute lists are not enabled, so this stays text; the rel on the link is ours.
    rendered = render_markdown('[x](https://example.com){: rel="opener" target="_blank"}')

    (attrs,) = links(rendered)
    assert "opener" not in attrs["rel"].split()
    assert "noopener" in attrs["rel"].split()
    assert "target" not in attrs


def test_link_title_is_kept():
    (attrs,) = links(render_markdown('[x](https://example.com "The title")'))
    assert attrs["title"] == "The title"


def test_bold_italic_lists_code_and_tables_are_rendered():
    source = (
        "# Printer\n\n"
        "**bold** and *italic* and `inline code`\n\n"
        "- first\n- second\n\n"
        "1. one\n2. two\n\n"
        "> quoted\n\n"
        "```\nlpstat -p\n```\n\n"
        "| Floor | Printer |\n|:------|:-------:|\n| 2 | HP |\n"
    )
    rendered = render_markdown(source)

    assert "<h1>Printer</h1>" in rendered
    assert "<strong>bold</strong>" in rendered
    assert "<em>italic</em>" in rendered
    assert "<code>inline code</code>" in rendered
    assert "<ul>\n<li>first</li>\n<li>second</li>\n</ul>" in rendered
    assert "<ol>\n<li>one</li>\n<li>two</li>\n</ol>" in rendered
    assert "<blockquote>" in rendered
    assert "<pre><code>lpstat -p\n</code></pre>" in rendered
    assert "<table>" in rendered
    assert '<th align="left">Floor</th>' in rendered
    assert '<th align="center">Printer</th>' in rendered
    assert '<td align="center">HP</td>' in rendered
    assert_no_active_markup(rendered)


def test_single_newlines_become_line_breaks():
    assert render_markdown("line one\nline two") == "<p>line one<br>\nline two</p>"


def test_empty_and_none_render_to_empty_safe_string():
    assert render_markdown("") == ""
    assert render_markdown(None) == ""


def test_result_is_marked_safe_and_not_escaped_again_in_templates():
    rendered = render_markdown("**x** <b>y</b>")
    assert isinstance(rendered, SafeString)

    output = Template("{{ body }}").render(Context({"body": rendered}))

    assert "<strong>x</strong>" in output
    assert "&lt;b&gt;y&lt;/b&gt;" in output
    assert "&amp;lt;" not in output


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        ("java\tscript:alert(1)", "javascript"),
        (" \x01&#106;avascript:alert(1)", "javascript"),
        ("JAVA\nSCRIPT:x", "javascript"),
        ("%6Aavascript:alert(1)", None),
        ("java    script:alert(1)", None),
        ("/relative/path", None),
        ("https://example.com", "https"),
    ],
)
def test_browser_scheme_helper_sees_urls_as_a_browser_does(url, scheme):
    # The safety assertions above are only as good as this helper.
    assert browser_scheme(url) == scheme


def test_the_reused_converter_carries_nothing_from_one_text_to_the_next():
    # One converter per thread is reused; a reference or footnote-like definition in one comment
    # must not resolve a link in the next, and a code block must not leak its placeholder.
    first = render_markdown("[manual]: https://example.com/manual\n\n```\nsecret code\n```")
    assert "secret code" in first

    second = render_markdown("See [the docs][manual].\n\nplain text")

    assert "example.com" not in second
    assert "secret code" not in second
    assert "[the docs][manual]" in second


def test_short_texts_are_remembered_and_long_ones_converted_each_time():
    from tickets import markdown

    markdown._render_remembered.cache_clear()
    short = "**remember** me"
    long = "word " * (markdown.MEMO_MAX_CHARS // 5 + 1)

    assert render_markdown(short) == render_markdown(short) == "<p><strong>remember</strong> me</p>"
    render_markdown(long)
    render_markdown(long)

    info = markdown._render_remembered.cache_info()
    assert (info.hits, info.misses, info.currsize) == (1, 1, 1)
    assert info.maxsize == markdown.MEMO_SIZE
