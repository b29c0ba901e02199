"""Text search over a ticket's title, description and comments.

PostgreSQL uses full-text search with prefix matching ("print" finds "printer") and the language-
neutral ``simple`` configuration, because tickets are written in German and English alike. Other
databases fall back to a case-insensitive substring match of every word. Both require every word.
"""

import re

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connections
from django.db.models import Exists, OuterRef, Q

MAX_TERMS = 8
_WORD = re.compile(r"\w+", re.UNICODE)


def search_terms(text: str) -> list[str]:
    return _WORD.findall(text)[:MAX_TERMS]


def search_tickets(tickets, text: str, *, include_internal: bool):
    """Narrow the ``tickets`` queryset to those matching every word of ``text``."""
    from tickets.models import Comment, Ticket

    terms = search_terms(text)
    if not terms:
        return tickets
    comments = Comment.objects.all() if include_internal else Comment.objects.filter(is_internal=False)

    if connections[tickets.db].vendor == "postgresql":
        # Each word may match in a different field (title, description or any comment), as below.
        # Both sides are id subqueries over the GIN indexes of migration 0003, which index exactly
        # these SearchVector expressions: PostgreSQL reads the matching ids from the indexes once
        # instead of computing a text vector for every ticket and comment.
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

    comments = comments.filter(ticket=OuterRef("pk"))
    for term in terms:
        tickets = tickets.filter(
            Q(title__icontains=term) | Q(description__icontains=term) | Q(Exists(comments.filter(body__icontains=term)))
        )
    return tickets
