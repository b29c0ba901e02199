from django import template

from tickets.markdown import render_markdown

register = template.Library()


@register.filter
def markdown(text: str):
    """Render user Markdown to sanitised HTML (see tickets.markdown)."""
    return render_markdown(text)


@register.simple_tag(takes_context=True)
def query_with(context, **changes) -> str:
    """The current query string with some parameters replaced (None removes one), for filter links."""
    query = context["request"].GET.copy()
    query.pop("page", None)
    for key, value in changes.items():
        if value is None or value == "":
            query.pop(key, None)
        else:
            query[key] = value
    return query.urlencode()
