"""Similar tickets: what an employee sees while typing a title, and what an agent sees on a ticket.

Any word may match (an OR, unlike the list's search, where every word must), and tickets matching
more of the words come first. PostgreSQL matches word prefixes with full-text search: the employee's
lookups over the per-field ``title``/``description`` document that migration 0003 indexes (never an
internal note), the agent's over the stored ``search_document`` (tickets.search). Other databases
(SQLite in development) match substrings and rank in Python.

An employee sees open known issues first (their public status, never another person's ticket), then
their own open tickets. An agent sees open tickets of anybody.
"""

from dataclasses import dataclass

from django.contrib.postgres.search import SearchQuery, SearchVector, SearchVectorExact
from django.db import connections
from django.db.models import Case, Exists, F, OuterRef, Q, Value, When

from tickets.models import AffectedPerson, KnownIssue, Ticket
from tickets.search import SearchDocument, is_one_lexeme, search_terms

LIMIT = 5
MIN_WORD = 3
# Words too common to say anything about a problem (both languages; the search config is "simple").
_STOP_WORDS = (
    "the and for not but with from this that have has are was were can cannot does doesn any when what "
    "der die das und oder nicht mit von auf ist sind ein eine einen kein keine geht wenn bei mein meine"
)
STOP_WORDS = frozenset(_STOP_WORDS.split())


def lookup_words(text: str) -> list[str]:
    """The words worth matching: at least three characters, not a stop word, each once."""
    words = []
    for term in search_terms(text):
        word = term.lower()
        if len(word) >= MIN_WORD and word not in STOP_WORDS and is_one_lexeme(word) and word not in words:
            words.append(word)
    return words


def _postgres(tickets) -> bool:
    return connections[tickets.db].vendor == "postgresql"


def _prefix(word: str) -> SearchQuery:
    return SearchQuery(f"{word}:*", search_type="raw", config="simple")


def _ranked(tickets, words: list[str], *, stored_document: bool, limit: int, fields=("title", "description")):
    """``tickets`` matching any of ``words``, best first: a list of at most ``limit``."""
    if _postgres(tickets):
        # Words are \\w-only (search_terms), so the raw tsquery cannot carry tsquery syntax.
        query = SearchQuery(" | ".join(f"{word}:*" for word in words), search_type="raw", config="simple")
        document = SearchDocument() if stored_document else SearchVector(*fields, config="simple")
        # The rank is how many of the words a ticket has: a few cheap @@ tests per matching ticket,
        # where ts_rank cost 20 µs each (40 ms for the 2,000 open tickets a common word matches).
        rank = sum(
            Case(When(SearchVectorExact(document, _prefix(word)), then=Value(1)), default=Value(0)) for word in words
        )
        matches = tickets.filter(SearchVectorExact(document, query)).annotate(rank=rank)
        return list(matches.order_by("-rank", "-created_at", "-pk")[:limit])
    condition = Q()
    for word in words:
        for field in fields:
            condition |= Q(**{f"{field}__icontains": word})
    matched = tickets.filter(condition).annotate(**{f"_text{n}": F(field) for n, field in enumerate(fields)})
    candidates = list(matched.order_by("-created_at", "-pk")[: limit * 20])

    def hits(ticket) -> int:
        text = " ".join(str(getattr(ticket, f"_text{n}") or "") for n in range(len(fields))).lower()
        return sum(word in text for word in words)

    return sorted(candidates, key=lambda ticket: -hits(ticket))[:limit]


@dataclass
class Match:
    """One line of the employee's suggestions: a known issue or one of their own open tickets."""

    ticket: Ticket
    known_issue: KnownIssue | None = None
    affected: bool = False  # the person already said "Affects me too"

    def can_open(self, user) -> bool:
        """Whether the person may open the ticket itself (else a known issue shows its status only)."""
        return self.known_issue is None or self.affected or self.ticket.requester_id == user.pk


def similar_for_employee(text: str, *, user, limit: int = LIMIT) -> list[Match]:
    """Up to ``limit`` matches for a title being typed: open known issues, then the person's own
    open tickets. Never another person's ticket: a known issue is shown by its public status."""
    words = lookup_words(text)
    if not words or not user.is_authenticated:
        return []
    known_tickets = Ticket.objects.open().filter(known_issue__isnull=False)
    # A known issue matches by its public status text too.
    fields = ("title", "description", "known_issue__status_text")
    known = _ranked(known_tickets, words, stored_document=False, limit=limit, fields=fields)
    matches = []
    if known:
        issues = (
            KnownIssue.objects.filter(ticket__in=known)
            .select_related("problem_source")
            .annotate(affected=Exists(AffectedPerson.objects.filter(ticket=OuterRef("ticket"), user=user)))
        )
        by_ticket = {issue.ticket_id: issue for issue in issues}
        matches = [Match(ticket, by_ticket[ticket.pk], by_ticket[ticket.pk].affected) for ticket in known]
    if len(matches) < limit:
        own = Ticket.objects.open().filter(requester=user, known_issue__isnull=True)
        matches += [Match(ticket) for ticket in _ranked(own, words, stored_document=False, limit=limit - len(matches))]
    return matches


def similar_for_agent(ticket: Ticket, *, limit: int = LIMIT) -> list[Ticket]:
    """Open tickets of anybody like this one (by its title), for merging; with their requesters and
    ``is_known_issue`` (this ticket is rather attached to a known issue as its duplicate)."""
    words = lookup_words(ticket.title)
    if not words:
        return []
    others = (
        Ticket.objects.open()
        .exclude(pk=ticket.pk)
        .select_related("requester")
        .annotate(is_known_issue=Exists(KnownIssue.objects.filter(ticket=OuterRef("pk"))))
    )
    return _ranked(others, words, stored_document=True, limit=limit)
