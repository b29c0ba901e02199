"""Markdown for descriptions and comments: rendered, then sanitised with nh3 (an allow-list).

Raw HTML in the source is escaped by Markdown's own rules and whatever still comes out is cleaned:
only the tags below survive and links keep only http, https and mailto targets, so ``javascript:``,
``data:`` and ``vbscript:`` links in any spelling are dropped.
"""

import threading
from functools import lru_cache

import markdown as markdown_lib
import nh3
from django.utils.safestring import SafeString, mark_safe

ALLOWED_TAGS = {
    "p", "br", "hr", "strong", "em", "b", "i", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "h1", "h2", "h3", "h4", "h5", "h6",
    "table", "thead", "tbody", "tr", "th", "td", "del",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}


class _EscapeHtml(markdown_lib.Extension):
    """Treat HTML in the source as text: users write Markdown, not markup."""

    def extendMarkdown(self, md):  # noqa: N802 - the Markdown API's name
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")


_converters = threading.local()


def _converter() -> markdown_lib.Markdown:
    """One converter per thread, reset before each use: building one costs more than converting a
    comment, and the detail page converts every comment of the ticket."""
    converter = getattr(_converters, "markdown", None)
    if converter is None:
        converter = _converters.markdown = markdown_lib.Markdown(
            extensions=["fenced_code", "tables", "sane_lists", "nl2br", _EscapeHtml()],
            # nh3 strips style attributes, so column alignment must come out as ``align``.
            extension_configs={"tables": {"use_align_attribute": True}},
            output_format="html",
        )
    return converter


MEMO_SIZE = 2048
MEMO_MAX_CHARS = 2000
"""Texts up to this length are remembered with their HTML, per process: a ticket is read again and
again while it is worked, and converting its fifty comments cost 11 ms per view. At most about
10 MB per worker; longer texts are converted each time."""


def render_markdown(text: str) -> SafeString:
    text = text or ""
    if len(text) <= MEMO_MAX_CHARS:
        return _render_remembered(text)
    return _render(text)


@lru_cache(maxsize=MEMO_SIZE)
def _render_remembered(text: str) -> SafeString:
    return _render(text)


def _render(text: str) -> SafeString:
    html = _converter().reset().convert(text)
    cleaned = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )
    return mark_safe(cleaned)  # noqa: S308 - sanitised by nh3 just above
