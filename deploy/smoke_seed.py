"""Seed data for the smoke tests: an IT agent, two employees and a selectable problem source.

Run with ``python manage.py shell -c "$(cat deploy/smoke_seed.py)"`` (the production image does not
contain this file). With SMOKE_AGENT_OID set, the agent gets that Microsoft account, so that the
fake Graph can receive the agent's Teams notification. Prints the problem source's id last.
"""

import os

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from social_django.models import UserSocialAuth

from tickets import problem_sources

User = get_user_model()
staff, _ = Group.objects.get_or_create(name=settings.IT_STAFF_GROUP)
agent = User.objects.create_user("agent", "agent@example.com", "smoke-Agent-pw-1")
agent.groups.add(staff)
agent_oid = os.environ.get("SMOKE_AGENT_OID")
if agent_oid:
    UserSocialAuth.objects.create(
        user=agent, provider="azuread-v2-tenant-oauth2", uid=agent_oid, extra_data={"oid": agent_oid}
    )
User.objects.create_user("emma", "emma@example.com", "smoke-Emma-pw-1")
User.objects.create_user("otto", "otto@example.com", "smoke-Otto-pw-1")
root = problem_sources.problem_source_create(name_en="Hardware")
leaf = problem_sources.problem_source_create(parent=root, name_en="Printer", is_selectable=True)
print(leaf.pk)
