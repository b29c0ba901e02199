"""Who counts as IT staff, and the queryset of agents that tickets can be assigned to."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import Q, QuerySet


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
