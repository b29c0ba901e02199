"""Forms of the known-issue workflows (tickets.known_issues)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import StyledFormMixin


class KnownIssueForm(StyledFormMixin, forms.Form):
    """Mark a ticket as a known issue: for which node (the ticket's or one above it) and what
    everyone may read about it."""

    prefix = "known"  # the resolve form on the same page has a status_text too
    problem_source = forms.TypedChoiceField(label=_("For"), coerce=int)
    status_text = forms.CharField(
        label=_("Text for everyone"),
        max_length=200,
        help_text=_("Shown to everyone in the banner, e.g. “Technician on the way, back by 14:00”."),
    )

    def __init__(self, *args, nodes, **kwargs):
        super().__init__(*args, **kwargs)
        self.nodes = {node.pk: node for node in nodes}
        self.fields["problem_source"].choices = [
            (node.pk, _("%(name)s and everything below") % {"name": node.name}) for node in reversed(nodes)
        ]

    def clean_problem_source(self):
        return self.nodes[self.cleaned_data["problem_source"]]


class ResolveKnownIssueForm(StyledFormMixin, forms.Form):
    prefix = "resolve"
    status_text = forms.CharField(label=_("Last text for everyone"), max_length=200)


class TicketIdForm(forms.Form):
    """The other ticket of a duplicate or merge, by its number."""

    ticket = forms.IntegerField(min_value=1, max_value=2**62)
