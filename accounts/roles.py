"""Who counts as IT staff, and the queryset of agents that tickets can be assigned to."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import Q, QuerySet

from accounts.models import display_name


def it_staff_group() -> Group:
    group, _ = Group.objects.get_or_create(name=settings.IT_STAFF_GROUP)
    return group


NAME_FIELDS = ("id", "username", "first_name", "last_name")
"""What a person's display name needs: lists of agents to choose from load only these."""


def agents() -> QuerySet:
    """Active users who may work tickets, ordered for pickers."""
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(groups__name=settings.IT_STAFF_GROUP) | Q(is_superuser=True))
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


def agent_names() -> list[tuple[int, str]]:
    """(id, display name) of every agent, in picker order: read as values, since a user object per
    agent cost more than the rest of a form that lists a hundred of them."""
    return [
        (pk, display_name(first, last, username)) for pk, username, first, last in agents().values_list(*NAME_FIELDS)
    ]
