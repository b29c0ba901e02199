"""``{% fragment "name" value … %}…{% endfragment %}``: the enclosed HTML, cached (core.fragments).

The values name the data the fragment shows; the reader's role, language, time zone, URL prefix and
the code version are added to the key by ``core.fragments.fragment_key``. Whatever the block reads
from the context is only computed when the cache misses (pass expensive data as callables).
"""

from django import template

from core.fragments import cached_fragment

register = template.Library()


class FragmentNode(template.Node):
    def __init__(self, nodelist, name, values):
        self.nodelist = nodelist
        self.name = name
        self.values = values

    def render(self, context):
        name = self.name.resolve(context)
        parts = tuple(value.resolve(context) for value in self.values)
        user = context["request"].user
        return cached_fragment(name, user, parts, lambda: self.nodelist.render(context))


@register.tag("fragment")
def do_fragment(parser, token):
    bits = token.split_contents()
    if len(bits) < 2:
        raise template.TemplateSyntaxError("'fragment' takes a name and the values its HTML depends on.")
    nodelist = parser.parse(("endfragment",))
    parser.delete_first_token()
    return FragmentNode(nodelist, parser.compile_filter(bits[1]), [parser.compile_filter(bit) for bit in bits[2:]])
