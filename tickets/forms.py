from datetime import date, timedelta
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.http import QueryDict
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.backends import users_with_roles
from accounts.roles import agent_names
from core.forms import StyledFormMixin
from tickets import analysis, problem_sources, routing
from tickets.attachments import ALLOWED_EXTENSIONS, CheckedFile, check_upload
from tickets.models import ProblemSource, SavedTicketFilter, Team, Ticket
from tickets.rows import SLA_SOON
from tickets.search import search_terms
from tickets.widgets import ProblemSourceSearchInput


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True

    def get_context(self, name, value, attrs):
        # static/js/app.js refuses too large files before the form is sent, so nothing typed is lost
        # to a request the server cannot read; the server checks again (check_upload).
        limit = filesizeformat(settings.ATTACHMENT_MAX_BYTES)
        attrs = {
            **(attrs or {}),
            "data-max-bytes": settings.ATTACHMENT_MAX_BYTES,
            "data-too-large": _("Files may be at most %(limit)s. Too large:") % {"limit": limit},
        }
        return super().get_context(name, value, attrs)


class AttachmentsField(forms.FileField):
    """Several files in one input, each checked by content; the count is capped by settings."""

    widget = MultipleFileInput

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", _("Attachments"))
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("accept", ",".join(f".{ext}" for ext in ALLOWED_EXTENSIONS))

    def clean(self, data, initial=None) -> list[CheckedFile]:
        uploads = (
            [upload for upload in (data or []) if upload] if isinstance(data, (list, tuple)) else [data] if data else []
        )
        if not uploads:
            if self.required:
                raise ValidationError(self.error_messages["required"], code="required")
            return []
        limit = settings.ATTACHMENT_MAX_FILES
        if len(uploads) > limit:
            raise ValidationError(
                ngettext(
                    "At most %(limit)d file can be added at once.",
                    "At most %(limit)d files can be added at once.",
                    limit,
                )
                % {"limit": limit}
            )
        errors, checked = [], []
        for upload in uploads:
            try:
                checked.append(check_upload(upload))
            except ValidationError as error:
                errors.extend(error.messages)
        if errors:
            raise ValidationError(errors)
        return checked


class TicketCreateForm(StyledFormMixin, forms.Form):
    problem_source = forms.ModelChoiceField(
        # Annotated so that checking the choice (clean_problem_source) and routing the ticket
        # (tickets.routing) need no further query.
        queryset=routing.with_effective_routing(ProblemSource.objects.with_active_children().with_inactive_ancestor()),
        widget=forms.HiddenInput,
        error_messages={
            "required": _("Please choose a problem source first."),
            "invalid_choice": _("That problem source does not exist. Please choose again."),
        },
    )
    title = forms.CharField(label=_("Title"), max_length=200, strip=True)
    description = forms.CharField(
        label=_("Description"),
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("What happened, what did you expect, since when? Markdown works; paste screenshots here."),
    )
    priority = forms.TypedChoiceField(
        label=_("Urgency"),
        choices=Ticket.Priority.choices,
        coerce=int,
        initial=Ticket.Priority.NORMAL,
        widget=forms.RadioSelect,
    )
    attachments = AttachmentsField()
    # The self-help article read before the form (tickets.self_help): its id, checked against the
    # node by self_help.article_read; anything else is ignored rather than losing the typed text.
    self_help_article = forms.CharField(required=False, max_length=20, widget=forms.HiddenInput)

    def clean_problem_source(self):
        node = self.cleaned_data["problem_source"]
        error = problem_sources.pickable_error(node)
        if error:
            raise ValidationError(error)
        return node


class CommentForm(StyledFormMixin, forms.Form):
    body = forms.CharField(label=_("Comment"), max_length=20000, widget=forms.Textarea(attrs={"rows": 4}), strip=True)
    is_internal = forms.BooleanField(label=_("Internal note (IT staff only)"), required=False)
    attachments = AttachmentsField()

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        if not user.is_agent:
            # Employees never see the switch, and a crafted POST value is ignored.
            del self.fields["is_internal"]

    def clean(self):
        cleaned = super().clean()
        cleaned.setdefault("is_internal", False)
        return cleaned


class AttachmentForm(StyledFormMixin, forms.Form):
    prefix = "upload"  # the reply form on the same page has its own attachments field

    attachments = AttachmentsField(required=True)


class ProblemSourceChoiceField(forms.ModelChoiceField):
    """One problem source of hundreds: search-as-you-type instead of a <select> listing every node."""

    widget = ProblemSourceSearchInput

    def label_from_instance(self, obj):
        return problem_sources.indented_name(obj)


class TicketUpdateForm(StyledFormMixin, forms.Form):
    """What an agent changes on a ticket. Employees never get this form."""

    status = forms.ChoiceField(label=_("Status"), choices=Ticket.Status.choices)
    priority = forms.TypedChoiceField(label=_("Priority"), choices=Ticket.Priority.choices, coerce=int)
    assignee = forms.ChoiceField(label=_("Responsible"), required=False)
    problem_source = ProblemSourceChoiceField(
        label=_("Problem source"), queryset=ProblemSource.objects.order_by("tree_id", "lft")
    )
    due_date = forms.DateField(label=_("Due date"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, ticket: Ticket, source_path: list[ProblemSource] | None = None, **kwargs):
        """``source_path``: the ticket's problem source and its ancestors, if the page has them."""
        kwargs.setdefault(
            "initial",
            {
                "status": ticket.status,
                "priority": ticket.priority,
                "assignee": ticket.assignee_id,
                "problem_source": ticket.problem_source_id,
                "due_date": ticket.due_date,
            },
        )
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = [("", _("Unassigned")), *((str(pk), name) for pk, name in agent_names())]
        # Re-categorise into active nodes only, but keep the current one valid even if retired since.
        self.fields["problem_source"].queryset = ProblemSource.objects.filter(
            Q(is_active=True) | Q(pk=ticket.problem_source_id)
        ).order_by("tree_id", "lft")
        self.fields["problem_source"].widget.known_path = source_path

    def clean_assignee(self):
        """The chosen agent as a user (with their role loaded), or None for nobody."""
        chosen = self.cleaned_data["assignee"]
        return users_with_roles().get(pk=int(chosen)) if chosen else None


def sla_due(state: str) -> Q:
    """The list's service-level filters on the stored, indexed ``sla_due_at`` (see tickets.sla)."""
    now = timezone.now()
    if state == "breached":
        return Q(sla_due_at__lt=now)
    return Q(sla_due_at__gte=now, sla_due_at__lt=now + SLA_SOON)


def sla_result(choice: str) -> Q:
    """The analysis page's service-level figures as list filters (tickets.sla_analysis's definitions)."""
    from tickets.sla_analysis import response_decided, response_met

    if choice == "response_met":
        return response_decided(timezone.now()) & response_met()
    if choice == "response_missed":
        return response_decided(timezone.now()) & ~response_met()
    if choice == "resolution_met":
        return Q(sla_resolution_left_seconds__gte=0)
    return Q(sla_resolution_left_seconds__lt=0)


class TicketFilterForm(StyledFormMixin, forms.Form):
    """The ticket list's filters, all in the URL. Every value is validated against an allow-list."""

    SORTS = {
        "-created": ("-created_at", "-pk"),
        "created": ("created_at", "pk"),
        "-updated": ("-updated_at", "-pk"),
        "updated": ("updated_at", "pk"),
        "priority": ("priority", "-created_at", "-pk"),
        "-priority": ("-priority", "-created_at", "-pk"),
        "due": (F("due_date").asc(nulls_last=True), "-created_at", "-pk"),
        "status": ("status_rank", "-created_at", "-pk"),
        "title": ("title", "pk"),
        "sla": (F("sla_due_at").asc(nulls_last=True), "pk"),
    }
    SORT_CHOICES = [
        ("-created", _("Newest first")),
        ("created", _("Oldest first")),
        ("-updated", _("Recently updated")),
        ("-priority", _("Highest priority")),
        ("priority", _("Lowest priority")),
        ("due", _("Due date")),
        ("status", _("Status")),
        ("title", _("Title")),
        ("sla", _("Due next (service level)")),
    ]
    PAGE_SIZES = [25, 50, 100]

    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    status = forms.MultipleChoiceField(
        label=_("Status"), required=False, choices=[("open", _("Open")), *Ticket.Status.choices]
    )
    priority = forms.TypedMultipleChoiceField(
        label=_("Priority"), required=False, choices=Ticket.Priority.choices, coerce=int
    )
    source = ProblemSourceChoiceField(
        label=_("Problem source"),
        required=False,
        queryset=ProblemSource.objects.order_by("tree_id", "lft"),
        empty_label=_("Any"),
        help_text=_("Includes everything below it."),
    )
    assignee = forms.ChoiceField(label=_("Responsible"), required=False)
    team = forms.ChoiceField(label=_("IT team"), required=False)
    requester = forms.CharField(label=_("Requester"), required=False, max_length=150)
    created_from = forms.DateField(
        label=_("Created from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    created_to = forms.DateField(
        label=_("Created until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    # The analysis page links its figures here; these reproduce its definitions (tickets.analysis).
    resolved_from = forms.DateField(
        label=_("Resolved from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    resolved_to = forms.DateField(
        label=_("Resolved until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    responded = forms.ChoiceField(
        label=_("First agent reply"),
        required=False,
        choices=[("", _("Any")), ("yes", _("Answered")), ("no", _("Not answered yet"))],
    )
    reopened = forms.ChoiceField(
        label=_("Reopened"), required=False, choices=[("", _("Any")), ("yes", _("Reopened")), ("no", _("Never"))]
    )
    filed_on = forms.ChoiceField(
        label=_("Filed on"),
        required=False,
        choices=[
            ("", _("Any topic")),
            ("general", _("A general topic (one with sub-topics)")),
            ("exact", _("The chosen problem source itself")),
        ],
    )
    resolution = forms.ChoiceField(
        label=_("Resolution time"),
        required=False,
        choices=[("", _("Any")), *[(b.key, b.label) for b in analysis.RESOLUTION_BINS]],
    )
    sla = forms.ChoiceField(
        label=_("Service level"),
        required=False,
        choices=[("", _("Any")), ("breached", _("Breached")), ("soon", _("Due within 2 hours"))],
    )
    sla_result = forms.ChoiceField(
        label=_("Service level met"),
        required=False,
        choices=[
            ("", _("Any")),
            ("response_met", _("First response in time")),
            ("response_missed", _("First response late")),
            ("resolution_met", _("Resolved in time")),
            ("resolution_missed", _("Resolved late")),
        ],
    )
    sort = forms.ChoiceField(label=_("Sort"), required=False, choices=SORT_CHOICES)
    per_page = forms.TypedChoiceField(
        label=_("Per page"), required=False, coerce=int, choices=[(size, size) for size in PAGE_SIZES], empty_value=25
    )

    MORE_FILTERS = ("resolved_from", "resolved_to", "responded", "reopened", "filed_on", "resolution", "sla_result")
    """Shown folded on the list; the analysis page's figures link to them."""
    AGENT_ONLY = ("assignee", "team", "requester", "sla", *MORE_FILTERS)

    def __init__(self, *args, user, teams=None, **kwargs):
        """``teams``: a callable giving the active teams as (id, name), when the page has them
        (tickets.sidebar); else they are read when needed."""
        super().__init__(*args, **kwargs)
        self.user = user
        self._assignee_choices = None
        self._teams = teams or (lambda: list(Team.objects.filter(is_active=True).values_list("pk", "name")))
        if user.is_agent:
            # A callable: the agents are read when the form is drawn (not when the list's cached
            # filters are shown) or an agent's id is checked.
            self.fields["assignee"].choices = self.assignee_choices
            self.fields["team"].choices = self.team_choices
        else:
            for name in self.AGENT_ONLY:
                del self.fields[name]

    def assignee_choices(self) -> list[tuple[str, str]]:
        """Read once per form, on first use."""
        if self._assignee_choices is None:
            self._assignee_choices = [
                ("", _("Anyone")),
                ("me", _("Me")),
                ("none", _("Unassigned")),
                *[(str(pk), name) for pk, name in agent_names()],
            ]
        return self._assignee_choices

    def team_choices(self) -> list[tuple[str, str]]:
        return [
            ("", _("Any")),
            ("mine", _("My teams")),
            ("none", _("No team")),
            *[(str(pk), name) for pk, name in self._teams()],
        ]

    def clean(self):
        cleaned = super().clean()
        for first, last in (("created_from", "created_to"), ("resolved_from", "resolved_to")):
            start, end = cleaned.get(first), cleaned.get(last)
            if start and end and start > end:
                self.add_error(last, _("The end date lies before the start date."))
        if cleaned.get("filed_on") == "exact" and not cleaned.get("source"):
            self.add_error("filed_on", _("Choose a problem source for this filter."))
        return cleaned

    NOT_FILTERS = ("sort", "per_page")

    @property
    def valid(self) -> dict:
        """The valid filters (all of them unset before validation, or for an unbound form)."""
        return self.cleaned_data if hasattr(self, "cleaned_data") else {}

    def search_words(self) -> list[str]:
        """The words searched for; none for a query without any ("!!!")."""
        return search_terms(self.valid.get("q") or "")

    def narrows(self, *, besides_status: bool = False) -> bool:
        """Whether a valid filter narrows the list (optionally not counting the status)."""
        ignored = (*self.NOT_FILTERS, "status") if besides_status else self.NOT_FILTERS
        if not self.search_words():
            ignored = (*ignored, "q")  # no word to search for: it narrows nothing
        return any(self.valid.get(name) not in (None, "", []) for name in self.fields if name not in ignored)

    def more_filters_used(self) -> bool:
        return any(self.data.get(name) for name in self.MORE_FILTERS if name in self.fields)

    def filter(self, tickets, *, with_status: bool = True):
        """Apply the valid filters to ``tickets``; invalid ones are reported by the form and skipped."""
        data = self.valid
        statuses = (data.get("status") or []) if with_status else []
        if "open" in statuses:
            statuses = {*statuses, *Ticket.Status.open_values()} - {"open"}
        if statuses:
            tickets = tickets.filter(status__in=statuses)
        if data.get("priority"):
            tickets = tickets.filter(priority__in=data["priority"])
        if data.get("source"):
            tickets = tickets.in_subtree(data["source"])
        assignee = data.get("assignee")
        if assignee == "me":
            tickets = tickets.filter(assignee=self.user)
        elif assignee == "none":
            tickets = tickets.filter(assignee__isnull=True)
        elif assignee:
            tickets = tickets.filter(assignee_id=int(assignee))
        team = data.get("team")
        if team == "mine":
            tickets = tickets.filter(team__in=Team.objects.filter(members=self.user).values("pk"))
        elif team == "none":
            tickets = tickets.filter(team__isnull=True)
        elif team:
            tickets = tickets.filter(team_id=int(team))
        requester = data.get("requester")
        if requester:
            tickets = tickets.filter(
                Q(requester__username__iexact=requester)
                | Q(requester__email__iexact=requester)
                | Q(requester__last_name__iexact=requester)
                | Q(requester__first_name__iexact=requester)
            )
        if data.get("created_from"):
            tickets = tickets.filter(created_at__date__gte=data["created_from"])
        if data.get("created_to"):
            tickets = tickets.filter(created_at__date__lte=data["created_to"])
        tickets = self._filter_analysis(tickets, data)
        if data.get("sla"):
            tickets = tickets.filter(sla_due(data["sla"]))
        if data.get("sla_result"):
            tickets = tickets.filter(sla_result(data["sla_result"]))
        if data.get("q"):
            tickets = tickets.search(data["q"], user=self.user)
        return tickets

    @staticmethod
    def _filter_analysis(tickets, data):
        """The filters behind the analysis page's figures, with its very expressions."""
        if data.get("resolved_from") or data.get("resolved_to") or data.get("resolution"):
            tickets = tickets.alias(
                finished_at=analysis.finished_at(), resolution_seconds=analysis.resolution_seconds()
            )
        if data.get("resolved_from"):
            tickets = tickets.filter(finished_at__date__gte=data["resolved_from"])
        if data.get("resolved_to"):
            tickets = tickets.filter(finished_at__date__lte=data["resolved_to"])
        if data.get("resolution"):
            tickets = tickets.filter(
                analysis.RESOLUTION_BINS_BY_KEY[data["resolution"]].q(), resolution_seconds__isnull=False
            )
        if data.get("responded"):
            tickets = tickets.filter(first_response_at__isnull=data["responded"] == "no")
        if data.get("reopened"):
            tickets = tickets.alias(was_reopened=analysis.was_reopened())
            tickets = tickets.filter(was_reopened=data["reopened"] == "yes")
        if data.get("filed_on") == "general":
            tickets = tickets.filter(analysis.FILED_ON_GENERAL_TOPIC)
        elif data.get("filed_on") == "exact" and data.get("source"):
            tickets = tickets.filter(problem_source=data["source"])
        return tickets

    def querystring(self) -> str:
        """The valid filters as a normalised query string: field order, no empty or default values.

        Call after ``is_valid()``. Saved lists store this, so equal filters give equal strings.
        """
        data = self.valid
        defaults = {"sort": "-created", "per_page": self.PAGE_SIZES[0]}
        pairs = []
        for name in self.fields:
            value = data.get(name)
            if value in (None, "", []) or defaults.get(name) == value:
                continue
            for item in dict.fromkeys(value) if isinstance(value, list) else [value]:
                if isinstance(item, ProblemSource):
                    item = item.pk
                elif isinstance(item, date):
                    item = item.isoformat()
                pairs.append((name, item))
        return urlencode(pairs)

    def ordering(self) -> tuple[str, ...]:
        data = self.valid
        return self.SORTS[data.get("sort") or "-created"]

    def page_size(self) -> int:
        data = self.valid
        return data.get("per_page") or self.PAGE_SIZES[0]


class SavedTicketFilterForm(StyledFormMixin, forms.ModelForm):
    """Save the ticket list's current filters under a name. ``query`` is the list's query string;
    it is validated by TicketFilterForm and stored normalised."""

    query = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)

    class Meta:
        model = SavedTicketFilter
        fields = ["name", "is_shared", "query"]
        labels = {"name": _("Name"), "is_shared": _("Share with IT staff")}

    def __init__(self, *args, owner, **kwargs):
        super().__init__(*args, **kwargs)
        self.owner = owner
        self.fields["name"].widget.attrs.update({"maxlength": 80, "placeholder": _("e.g. Printers, unassigned")})

    def clean_name(self):
        name = " ".join(self.cleaned_data["name"].split())
        if SavedTicketFilter.objects.filter(owner=self.owner, name__iexact=name).exists():
            raise ValidationError(_("You already have a saved list with this name."))
        return name

    def clean_query(self):
        query = QueryDict(self.cleaned_data["query"], mutable=True)
        query.pop("page", None)
        filters = TicketFilterForm(query, user=self.owner)
        if not filters.is_valid():
            raise ValidationError(_("Some filters are invalid; correct them before saving the list."))
        return filters.querystring()

    def save(self, commit=True):
        self.instance.owner = self.owner
        return super().save(commit)

    def save_unless_taken(self) -> SavedTicketFilter | None:
        """Save, or None with the name's error on the form when a simultaneous save took the name
        between the check in ``clean_name`` and the insert (the unique constraint decides)."""
        try:
            with transaction.atomic():
                return self.save()
        except IntegrityError:
            self.add_error("name", _("You already have a saved list with this name."))
            return None


class AnalysisForm(forms.Form):
    """The analysis page's period and problem source, all in the URL."""

    PERIODS = [
        ("7", _("Last 7 days")),
        ("30", _("Last 30 days")),
        ("90", _("Last 90 days")),
        ("year", _("This year")),
        ("custom", _("Custom")),
    ]
    DEFAULT_PERIOD = "30"
    EARLIEST = date(2000, 1, 1)
    LATEST = date(2099, 12, 31)

    period = forms.ChoiceField(label=_("Period"), required=False, choices=PERIODS)
    start = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    source = forms.ModelChoiceField(queryset=ProblemSource.objects.all(), required=False, widget=forms.HiddenInput)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("period") != "custom":
            return cleaned
        start, end = cleaned.get("start"), cleaned.get("end")
        if not start or not end:
            if "start" not in self.errors and "end" not in self.errors:
                self.add_error("end", _("Choose the first and the last day."))
        elif start > end:
            self.add_error("end", _("The end date lies before the start date."))
        elif start < self.EARLIEST:
            self.add_error("start", _("Choose a day in %(year)s or later.") % {"year": self.EARLIEST.year})
        elif end > self.LATEST:
            self.add_error("end", _("Choose a day in %(year)s or earlier.") % {"year": self.LATEST.year})
        elif (end - start).days >= analysis.MAX_PERIOD_DAYS:
            self.add_error("end", _("Choose at most three years."))
        return cleaned

    def get_period(self, today: date) -> tuple[str, "analysis.Period"]:
        """The period to show: the valid choice, else the default (errors are shown with the form)."""
        data = self.cleaned_data if self.is_bound and hasattr(self, "cleaned_data") else {}
        choice = data.get("period") or self.DEFAULT_PERIOD
        if choice == "custom":
            if self.errors:
                choice = self.DEFAULT_PERIOD
            else:
                return choice, analysis.Period(data["start"], data["end"])
        if choice == "year":
            return choice, analysis.Period(today.replace(month=1, day=1), today)
        return choice, analysis.Period(today - timedelta(days=int(choice) - 1), today)


class RatingForm(StyledFormMixin, forms.Form):
    """ "Did this solve your problem?" (tickets.ratings)."""

    answer = forms.ChoiceField(
        label=_("Did this solve your problem?"),
        choices=[("up", _("Yes, solved")), ("down", _("No, not solved"))],
        widget=forms.RadioSelect,
        error_messages={"required": _("Please choose thumbs up or thumbs down.")},
    )
    comment = forms.CharField(
        label=_("Comment (optional)"),
        max_length=2000,
        required=False,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    reopen = forms.BooleanField(label=_("Reopen the ticket"), required=False)


class TicketTeamForm(StyledFormMixin, forms.Form):
    """Hand a ticket to another IT team (tickets.routing.ticket_set_team)."""

    team = forms.ChoiceField(label=_("IT team"), required=False)

    def __init__(self, *args, teams, **kwargs):
        """``teams``: a callable giving the active teams as (id, name), read when the form is drawn."""
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = lambda: [("", _("No team")), *[(str(pk), name) for pk, name in teams()]]

    def clean_team(self) -> Team | None:
        chosen = self.cleaned_data["team"]
        if not chosen:
            return None
        team = Team.objects.filter(pk=int(chosen), is_active=True).first()
        if team is None:
            raise ValidationError(_("That team no longer takes tickets. Please choose another one."))
        return team
