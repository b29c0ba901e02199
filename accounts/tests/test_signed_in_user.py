"""The signed-in user is loaded with their role in one query, and a changed role counts at once."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.backends import ModelBackend, users_with_roles
from core.tests.test_security_settings import production_env, run_manage


def test_the_role_comes_with_the_user(agent, employee, django_assert_num_queries):
    backend = ModelBackend()
    with django_assert_num_queries(2):
        assert backend.get_user(agent.pk).is_agent is True
        assert backend.get_user(employee.pk).is_agent is False


def test_a_user_loaded_without_the_annotation_still_gets_the_right_role(agent, employee):
    from accounts.models import User

    assert User.objects.get(pk=agent.pk).is_agent is True
    assert User.objects.get(pk=employee.pk).is_agent is False


def test_superusers_and_inactive_people(admin, agent):
    assert users_with_roles().get(pk=admin.pk).is_agent is True
    agent.is_active = False
    agent.save()
    assert ModelBackend().get_user(agent.pk) is None  # their session ends
    assert users_with_roles().get(pk=agent.pk).is_agent is False


def test_leaving_it_staff_takes_effect_on_the_next_request(client, agent):
    client.force_login(agent)
    assert client.get(reverse("tickets:analysis")).status_code == 200

    agent.groups.remove(Group.objects.get(name="IT staff"))

    assert client.get(reverse("tickets:analysis")).status_code == 404


def test_joining_it_staff_takes_effect_on_the_next_request(client, employee):
    client.force_login(employee)
    assert client.get(reverse("tickets:analysis")).status_code == 404

    employee.groups.add(Group.objects.get_or_create(name="IT staff")[0])

    assert client.get(reverse("tickets:analysis")).status_code == 200


@pytest.mark.parametrize(
    ("redis_url", "engine"),
    [("redis://127.0.0.1:6379/0", "core.sessions"), ("", "django.contrib.sessions.backends.db")],
)
def test_sessions_are_cached_only_in_a_cache_all_workers_share(redis_url, engine):
    script = "from django.conf import settings; print(settings.SESSION_ENGINE)"
    result = run_manage("shell", "--verbosity", "0", "-c", script, env={**production_env(), "REDIS_URL": redis_url})

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == engine
