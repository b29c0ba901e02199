"""Form widgets of the ticket pages."""

from django import forms
from django.db.models import Subquery
from django.urls import reverse

from tickets.models import ProblemSource


def node_path(pk) -> list[ProblemSource]:
    """The node ``pk`` and its ancestors, root first, in one query; [] for an unknown or empty value."""
    if not str(pk or "").isdecimal():
        return []
    node = ProblemSource.objects.filter(pk=pk)
    return list(
        ProblemSource.objects.filter(
            tree_id=Subquery(node.values("tree_id")),
            lft__lte=Subquery(node.values("lft")),
            rght__gte=Subquery(node.values("rght")),
        ).order_by("lft")
    )


class ProblemSourceSearchInput(forms.Widget):
    """Choose one of hundreds of problem sources without sending them all: search-as-you-type.

    Renders the chosen node's id in a hidden input and its path in a search box; static/js/app.js
    queries ``tickets:source_search`` as one types. Without JavaScript, "Browse" opens the tree
    browser (``tickets:source_browse``), which sends the choice back to the page it came from.
    """

    template_name = "tickets/widgets/problem_source_search.html"

    def __init__(self, attrs=None, *, known_path: list[ProblemSource] | None = None):
        super().__init__(attrs)
        self.known_path = known_path or []  # a path the page has loaded already (root first)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        known = self.known_path
        path = known if known and str(known[-1].pk) == str(value) else node_path(value)
        context["widget"].update(
            {
                "path": path,
                "search_url": reverse("tickets:source_search"),
                "browse_url": f"{reverse('tickets:source_browse')}?field={name}",
            }
        )
        return context

    def value_from_datadict(self, data, files, name):
        return data.get(name)
