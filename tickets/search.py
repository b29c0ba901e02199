"""Text search over a ticket's title, description and comments.

PostgreSQL uses full-text search with prefix matching ("print" finds "printer") and the language-
neutral ``simple`` configuration, because tickets are written in German and English alike. Other
databases fall back to a case-insensitive substring match of every word. Both require every word.

On PostgreSQL, IT staff search ``tickets_ticket.search_document`` (migration 0007): all of a ticket's
words, internal notes included, under one GIN index, so the whole search is one index condition.
Employees must never match an internal note, so their search (over their own few tickets) asks the
per-field indexes of migration 0003 instead.
"""

import re
import string

from django.contrib.postgres.search import SearchQuery, SearchVector, SearchVectorExact, SearchVectorField
from django.db import connections
from django.db.models import Exists, Expression, OuterRef, Q

MAX_TERMS = 8
_WORD = re.compile(r"\w+", re.UNICODE)


def search_terms(text: str) -> list[str]:
    return _WORD.findall(text)[:MAX_TERMS]


class SearchDocument(Expression):
    """``search_document`` of the queryset's own ticket table.

    The column is kept by triggers and is not a model field (SQLite has none), so the ORM cannot name
    it; this expression does, qualified with the table's alias: the same queryset may run inside
    another ticket query (the list's page of ids), where an unqualified name could mean either table.
    """

    output_field = SearchVectorField()

    def __init__(self, alias: str | None = None):
        super().__init__()
        self.alias = alias

    def resolve_expression(self, query=None, allow_joins=True, reuse=None, summarize=False, for_save=False):
        resolved = self.copy()
        resolved.alias = query.get_initial_alias()
        return resolved

    def relabeled_clone(self, change_map):
        return self.__class__(change_map.get(self.alias, self.alias))

    def as_sql(self, compiler, connection):
        return f"{compiler.quote_name_unless_alias(self.alias)}.{connection.ops.quote_name('search_document')}", []


def is_one_lexeme(term: str) -> bool:
    """Whether PostgreSQL's parser reads ``term`` as one word that the search document can match.

    Letters and ASCII digits are. The parser splits a term at an underscore, or at a character that is
    a word character to Python but not to it, into a phrase ("srv_files01" becomes "'srv' <-> 'files01'"),
    which a stripped document never matches; and it drops a word longer than 2,047 bytes or one of such
    characters alone ("½") from an "&" query, which would then ignore that word. Such rare terms are
    matched field by field as before, where the phrase matches and the dropped word matches nothing.
    """
    return len(term.encode()) <= 2047 and all(char.isalpha() or char in string.digits for char in term)


def search_tickets(tickets, text: str, *, include_internal: bool):
    """Narrow the ``tickets`` queryset to those matching every word of ``text``."""
    from tickets.models import Comment

    terms = search_terms(text)
    if not terms:
        return tickets

    if connections[tickets.db].vendor == "postgresql":
        if not include_internal:
            return search_fields(tickets, terms, include_internal=False)
        words = [term for term in terms if is_one_lexeme(term)]
        if words:
            # Terms are \w-only, so building the raw tsquery cannot inject tsquery syntax. One "&" of
            # prefixes over the whole document: every word, each in any field or comment.
            query = SearchQuery(" & ".join(f"{word}:*" for word in words), search_type="raw", config="simple")
            tickets = tickets.filter(SearchVectorExact(SearchDocument(), query))
        return search_fields(tickets, [term for term in terms if term not in words], include_internal=True)

    comments = Comment.objects.all() if include_internal else Comment.objects.filter(is_internal=False)
    comments = comments.filter(ticket=OuterRef("pk"))
    for term in terms:
        tickets = tickets.filter(
            Q(title__icontains=term) | Q(description__icontains=term) | Q(Exists(comments.filter(body__icontains=term)))
        )
    return tickets


def search_fields(tickets, terms: list[str], *, include_internal: bool):
    """PostgreSQL: every term in the title and description or in a comment, one field at a time.

    Employees' search; for IT staff, the rare terms their search document cannot match (see
    ``is_one_lexeme``); and the reference the tests hold the document to. Each word may match in a
    different field. Both sides are id subqueries over the GIN indexes of migration 0003,
    which index exactly these SearchVector expressions.
    """
    from tickets.models import Comment, Ticket

    comments = Comment.objects.all() if include_internal else Comment.objects.filter(is_internal=False)
    documents = Ticket.objects.annotate(document=SearchVector("title", "description", config="simple"))
    comments = comments.annotate(document=SearchVector("body", config="simple"))
    for term in terms:
        # Terms are \w-only, so building the raw tsquery cannot inject tsquery syntax.
        query = SearchQuery(f"{term}:*", search_type="raw", config="simple")
        tickets = tickets.filter(
            Q(pk__in=documents.filter(document=query).values("pk"))
            | Q(pk__in=comments.filter(document=query).values("ticket_id"))
        )
    return tickets
