"""Self-help pages: the article before the form, "That solved it", its images, and IT's editor.

Everything works without JavaScript (plain links and POST forms), so also in the Teams tab.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.forms import StyledFormMixin
from tickets import problem_sources, self_help
from tickets.forms import AttachmentsField
from tickets.models import ProblemSource, SelfHelpArticle, SelfHelpDeflection, SelfHelpImage, Ticket
from tickets.views import agent_required
from tickets.widgets import ProblemSourceSearchInput, node_path


def article_page(request, node: ProblemSource, article: SelfHelpArticle, path: list, *, file_here: bool):
    """The article shown instead of the form the first time an employee reaches its node."""
    still_query = f"source={node.pk}&help={article.pk}" + ("&here=1" if file_here else "")
    context = {
        "node": node,
        "path": path,
        "article": article,
        "article_html": self_help.render_article(article),
        "still_url": f"{reverse('tickets:new')}?{still_query}",
    }
    return render(request, "tickets/self_help_article.html", context)


@login_required
@require_POST
def self_help_solved(request, pk: int):
    """ "That solved it": nothing is filed; the deflection is counted for the article's node."""
    article = get_object_or_404(SelfHelpArticle.objects.select_related("problem_source"), pk=pk)
    if not problem_sources.reachable_in_picker(article.problem_source):
        raise Http404
    self_help.deflection_count(node=article.problem_source)
    messages.success(request, _("Glad it helped! Nothing was filed."))
    return redirect("dashboard")


@login_required
@require_GET
def self_help_image(request, pk: int):
    """An article's picture: every signed-in person reads the articles, so every one may see it."""
    image = get_object_or_404(SelfHelpImage, pk=pk)
    try:
        handle = image.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(handle, content_type=image.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox; frame-ancestors 'none'"
    response["Cache-Control"] = "private, max-age=3600"
    return response


# --- IT's editor ----------------------------------------------------------------------------------


class ImagesField(AttachmentsField):
    """Uploads checked like attachments (tickets.attachments), and only pictures."""

    def clean(self, data, initial=None):
        checked = super().clean(data, initial)
        for file in checked:
            if not file.content_type.startswith("image/"):
                raise ValidationError(_("%(name)s is not a picture (PNG, JPEG, GIF or WebP).") % {"name": file.name})
        return checked


class SelfHelpArticleForm(StyledFormMixin, forms.Form):
    title_en = forms.CharField(label=gettext_lazy("Title (English)"), max_length=150, strip=True)
    title_de = forms.CharField(label=gettext_lazy("Title (German)"), max_length=150, strip=True, required=False)
    body_en = forms.CharField(
        label=gettext_lazy("Text (English)"),
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text=gettext_lazy("Markdown: short steps an employee can follow alone."),
    )
    body_de = forms.CharField(
        label=gettext_lazy("Text (German)"), max_length=10000, widget=forms.Textarea(attrs={"rows": 10}), required=False
    )
    images = ImagesField(label=gettext_lazy("Add pictures"))
    remove_images = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Remove pictures"),
        queryset=SelfHelpImage.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, article: SelfHelpArticle | None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["images"].widget.attrs["accept"] = "image/png,image/jpeg,image/gif,image/webp"
        if article is not None:
            self.fields["remove_images"].queryset = article.images.all()
        else:
            del self.fields["remove_images"]


def _prefill(request, node: ProblemSource, article: SelfHelpArticle | None) -> dict:
    """The form's start: the article as it is, or, from a ticket, the public reply to turn into help."""
    initial = {}
    if article is not None:
        initial = {name: getattr(article, name) for name in ("title_en", "title_de", "body_en", "body_de")}
    ticket_pk, comment_pk = request.GET.get("ticket", ""), request.GET.get("comment", "")
    if ticket_pk.isdecimal():
        ticket = get_object_or_404(Ticket.objects.visible_to(request.user), pk=ticket_pk)
        reply = self_help.reply_for_article(ticket, comment_pk)
        if reply is None:
            raise Http404
        german = (request.LANGUAGE_CODE or "").startswith("de")
        initial["body_de" if german else "body_en"] = reply.body
        if article is None:
            initial["title_de" if german else "title_en"] = ticket.title[:150]
    return initial


@agent_required
@require_http_methods(["GET", "POST"])
def self_help_edit(request, node_pk: int):
    node = get_object_or_404(ProblemSource.objects.select_related("self_help"), pk=node_pk)
    article = self_help.article_for(node)
    if request.method == "POST":
        if request.POST.get("delete") and article is not None:
            self_help.article_delete(article=article, author=request.user)
            messages.success(request, _("The self-help article was deleted."))
            return redirect("tickets:self_help_list")
        form = SelfHelpArticleForm(request.POST, request.FILES, article=article)
        if form.is_valid():
            data = form.cleaned_data
            self_help.article_save(
                node=node,
                author=request.user,
                title_en=data["title_en"],
                title_de=data["title_de"],
                body_en=data["body_en"],
                body_de=data["body_de"],
                images=data["images"],
                remove_images=data.get("remove_images") or (),
            )
            messages.success(request, _("The self-help article was saved."))
            return redirect("tickets:self_help_edit", node_pk=node.pk)
        messages.error(request, _("Nothing was changed. Please correct the errors below."))
        status = 400
    else:
        form = SelfHelpArticleForm(initial=_prefill(request, node, article), article=article)
        status = 200
        if request.GET.get("ticket", "").isdecimal():  # _prefill found the ticket and its reply
            messages.info(
                request,
                _("The text was taken from the reply on ticket #%(number)s. Check it and save.")
                % {"number": request.GET.get("ticket", "")[:12]},
            )
    context = {
        "node": node,
        "path": list(node.get_ancestors(include_self=True)),
        "article": article,
        "form": form,
        "preview": self_help.render_article(article) if article is not None else "",
    }
    return render(request, "tickets/self_help_edit.html", context, status=status)


@agent_required
@require_GET
def self_help_list(request):
    """Every article with its node and how often it solved a problem; a node picker for a new one."""
    chosen = request.GET.get("source", "")
    if chosen.isdecimal():
        return redirect("tickets:self_help_edit", node_pk=get_object_or_404(ProblemSource, pk=chosen).pk)
    paths = problem_sources.display_paths()
    deflections = dict(
        SelfHelpDeflection.objects.values_list("problem_source")
        .annotate(total=Sum("count"))
        .values_list("problem_source", "total")
    )
    articles = [
        (article, paths.get(article.problem_source_id, ""), deflections.get(article.problem_source_id, 0))
        for article in SelfHelpArticle.objects.select_related("updated_by").order_by("problem_source_id")
    ]
    articles.sort(key=lambda row: row[1])
    context = {
        "articles": articles,
        "source_widget": ProblemSourceSearchInput(known_path=node_path(None)).render(
            "source", None, attrs={"id": "self-help-source"}
        ),
    }
    return render(request, "tickets/self_help_list.html", context)
