"""Signing in and out, throttling (C16), safe redirects (C11), preferences and mass assignment (C13)."""

from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.roles import it_staff_group

LOGIN = reverse("accounts:login")
EVIL_NEXTS = [
    "//evil.example",
    "//evil.example/path",
    "https://evil.example",
    "https://evil.example/tickets/",
    "http://evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "///evil.example",
    "https:evil.example",
    "javascript:alert(1)",
    "JavaScript:alert(document.cookie)",
    " //evil.example",
    "\t//evil.example",
    "https://testserver@evil.example",
    "https://evil.example\\@testserver",
    "data:text/html,<script>alert(1)</script>",
]


def password_of(user) -> str:
    return f"{user.username}-pass-123"  # as conftest.make_user sets it


def sign_in(client, username, password, *, ip="10.1.1.1", **data):
    return client.post(LOGIN, {"username": username, "password": password, **data}, REMOTE_ADDR=ip)


def signed_in_user_id(client):
    return client.session.get(SESSION_KEY)


def assert_stays_on_site(location: str):
    target = urlsplit(location)
    assert not target.scheme and not target.netloc, location
    assert location.startswith("/") and not location.startswith(("//", "/\\")), location


# --- Sign-in --------------------------------------------------------------------------------------


def test_login_page_renders(client, db):
    response = client.get(LOGIN)

    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="username"' in html
    assert 'name="password"' in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_login_with_username_and_password(client, employee):
    response = sign_in(client, "erika", password_of(employee))

    assert response.status_code == 302
    assert response["Location"] == reverse(settings.LOGIN_REDIRECT_URL)
    assert signed_in_user_id(client) == str(employee.pk)


def test_login_with_wrong_password_shows_error(client, employee):
    response = sign_in(client, "erika", "wrong-password")

    assert response.status_code == 200
    assert "That username and password do not match." in response.content.decode()
    assert signed_in_user_id(client) is None


def test_inactive_user_cannot_log_in(client, employee):
    employee.is_active = False
    employee.save()

    response = sign_in(client, "erika", password_of(employee))

    assert response.status_code == 200
    assert signed_in_user_id(client) is None


@pytest.mark.parametrize("target", ["/tickets/", "/tickets/?status=open&assignee=me", reverse("accounts:profile")])
def test_login_redirects_to_same_site_next(client, employee, target):
    response = sign_in(client, "erika", password_of(employee), next=target)

    assert response["Location"] == target


def test_login_redirects_to_next_from_the_query_string(client, employee):
    response = client.post(
        f"{LOGIN}?next=/tickets/", {"username": "erika", "password": password_of(employee)}, REMOTE_ADDR="10.1.1.1"
    )

    assert response["Location"] == "/tickets/"


@pytest.mark.parametrize("target", EVIL_NEXTS)
def test_login_never_redirects_off_site(client, employee, target):
    response = sign_in(client, "erika", password_of(employee), next=target)

    assert response.status_code == 302
    assert response["Location"] == reverse(settings.LOGIN_REDIRECT_URL)
    assert signed_in_user_id(client) == str(employee.pk)


@pytest.mark.parametrize("target", EVIL_NEXTS)
def test_signed_in_visit_to_login_page_never_redirects_off_site(client, employee, target):
    client.force_login(employee)

    response = client.get(LOGIN, {"next": target})

    assert response.status_code == 302
    assert_stays_on_site(response["Location"])


@pytest.mark.parametrize("target", EVIL_NEXTS)
def test_login_page_does_not_render_evil_next_into_the_form_unescaped(client, db, target):
    response = client.get(LOGIN, {"next": target})

    assert "<script>alert(1)</script>" not in response.content.decode()


def test_anonymous_visit_redirects_to_login_with_next(client, db):
    response = client.get(reverse("tickets:list"), {"status": "open"})

    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next=/tickets/%3Fstatus%3Dopen"


# --- Sign-out -------------------------------------------------------------------------------------


def test_logout_by_get_is_refused_and_keeps_the_session(client, employee):
    client.force_login(employee)

    response = client.get(reverse("accounts:logout"))

    assert response.status_code == 405
    assert signed_in_user_id(client) == str(employee.pk)


def test_logout_by_post(client, employee):
    client.force_login(employee)

    response = client.post(reverse("accounts:logout"))

    assert response.status_code == 302
    assert response["Location"] == LOGIN
    assert signed_in_user_id(client) is None
    assert client.get(reverse("dashboard")).status_code == 302


def test_logout_without_csrf_token_is_refused(employee):
    client = Client(enforce_csrf_checks=True)
    client.force_login(employee)

    response = client.post(reverse("accounts:logout"))

    assert response.status_code == 403
    assert signed_in_user_id(client) == str(employee.pk)


def test_login_without_csrf_token_is_refused(employee):
    client = Client(enforce_csrf_checks=True)

    response = sign_in(client, "erika", password_of(employee))

    assert response.status_code == 403
    assert signed_in_user_id(client) is None


# --- Throttling (C16) -----------------------------------------------------------------------------


def fail(client, username, *, ip, times):
    return [sign_in(client, username, "wrong-password", ip=ip).status_code for _ in range(times)]


def assert_locked_out(response):
    assert response.status_code == 429
    assert "accounts/locked_out.html" in [template.name for template in response.templates]
    assert "Too many failed sign-in attempts" in response.content.decode()


def test_failed_logins_lock_the_account_even_for_the_right_password(client, employee):
    limit = settings.AXES_FAILURE_LIMIT
    statuses = fail(client, "erika", ip="10.0.0.1", times=limit - 1)

    response = sign_in(client, "erika", password_of(employee), ip="10.0.0.1")  # still allowed: resets
    assert response.status_code == 302
    client.logout()

    statuses = fail(client, "erika", ip="10.0.0.1", times=limit)
    locked = sign_in(client, "erika", password_of(employee), ip="10.0.0.1")

    assert statuses[:-1] == [200] * (limit - 1)
    assert statuses[-1] == 429  # the attempt that reaches the limit is refused already
    assert_locked_out(locked)
    assert signed_in_user_id(client) is None


def test_lockout_is_per_username_across_addresses(client, employee, other_employee):
    for number in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "erika", "wrong-password", ip=f"10.0.1.{number}")

    from_new_address = sign_in(client, "erika", password_of(employee), ip="10.9.9.9")
    other_user = sign_in(Client(), "otto", password_of(other_employee), ip="10.9.9.9")

    assert_locked_out(from_new_address)
    assert other_user.status_code == 302  # another account from that address is not affected


def test_lockout_is_per_address_across_usernames(client, employee, other_employee):
    for number in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, f"guess{number}", "wrong-password", ip="10.0.2.1")

    same_address = sign_in(client, "otto", password_of(other_employee), ip="10.0.2.1")
    other_address = sign_in(Client(), "otto", password_of(other_employee), ip="10.0.2.2")

    assert_locked_out(same_address)
    assert other_address.status_code == 302


def test_forwarded_for_header_cannot_dodge_the_address_lockout(client, other_employee):
    for number in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            LOGIN,
            {"username": f"guess{number}", "password": "x"},
            REMOTE_ADDR="10.0.3.1",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{number}",
        )

    response = client.post(
        LOGIN,
        {"username": "otto", "password": password_of(other_employee)},
        REMOTE_ADDR="10.0.3.1",
        HTTP_X_FORWARDED_FOR="198.51.100.7",
    )

    assert_locked_out(response)


@pytest.mark.parametrize(
    ("cool_off_hours", "message"),
    [(15 / 60, "15 minutes"), (1, "60 minutes"), (2 / 60, "2 minutes"), (1 / 60, "1 minute.")],
)
def test_locked_out_page_states_the_configured_cool_off(client, employee, settings, cool_off_hours, message):
    settings.AXES_COOLOFF_TIME = cool_off_hours  # as core/settings.py derives it from LOGIN_COOLOFF_MINUTES

    fail(client, "erika", ip="10.0.4.1", times=settings.AXES_FAILURE_LIMIT)
    response = sign_in(client, "erika", password_of(employee), ip="10.0.4.1")

    assert_locked_out(response)
    assert f"Please try again in {message}" in response.content.decode()


# --- Language and colour mode ---------------------------------------------------------------------


def test_language_switch_saves_the_choice_and_sets_the_cookie(client, employee):
    client.force_login(employee)

    response = client.post(reverse("accounts:language"), {"language": "de", "next": "/tickets/"})

    assert response.status_code == 302
    assert response["Location"] == "/tickets/"
    employee.refresh_from_db()
    assert employee.language == "de"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "de"
    html = client.get(reverse("dashboard")).content.decode()
    assert '<html lang="de"' in html
    assert "Hallo, Erika" in html


def test_saved_language_wins_over_the_browser(client, employee):
    employee.language = "de"
    employee.save()
    client.force_login(employee)

    html = client.get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert '<html lang="de"' in html


def test_anonymous_language_switch_sets_only_the_cookie(client, db):
    response = client.post(reverse("accounts:language"), {"language": "de", "next": LOGIN})

    assert response["Location"] == LOGIN
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "de"
    html = client.get(LOGIN).content.decode()
    assert '<html lang="de"' in html
    assert "Anmelden" in html


@pytest.mark.parametrize("language", ["xx", "", "de-evil", "en; DROP TABLE", "<script>"])
def test_unknown_language_is_refused_and_nothing_changes(client, employee, language):
    employee.language = "en"
    employee.save()
    client.force_login(employee)

    response = client.post(reverse("accounts:language"), {"language": language})

    assert response.status_code == 400
    employee.refresh_from_db()
    assert employee.language == "en"
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies


def test_language_switch_by_get_is_refused(client, employee):
    client.force_login(employee)

    response = client.get(reverse("accounts:language"), {"language": "de"})

    assert response.status_code == 405
    employee.refresh_from_db()
    assert employee.language == ""


@pytest.mark.parametrize("target", EVIL_NEXTS)
def test_language_switch_never_redirects_off_site(client, employee, target):
    client.force_login(employee)

    response = client.post(reverse("accounts:language"), {"language": "de", "next": target})

    assert response.status_code == 302
    assert_stays_on_site(response["Location"])


def test_theme_switch_by_script_returns_204(client, employee):
    client.force_login(employee)

    response = client.post(reverse("accounts:theme"), {"theme": "dark"}, HTTP_X_REQUESTED_WITH="fetch")

    assert response.status_code == 204
    employee.refresh_from_db()
    assert employee.theme == "dark"
    assert 'data-bs-theme="dark"' in client.get(reverse("dashboard")).content.decode()


def test_theme_switch_by_form_redirects_to_next(client, employee):
    client.force_login(employee)

    response = client.post(reverse("accounts:theme"), {"theme": "light", "next": "/tickets/"})

    assert response.status_code == 302
    assert response["Location"] == "/tickets/"
    employee.refresh_from_db()
    assert employee.theme == "light"


@pytest.mark.parametrize("target", EVIL_NEXTS)
def test_theme_switch_never_redirects_off_site(client, employee, target):
    client.force_login(employee)

    response = client.post(reverse("accounts:theme"), {"theme": "light", "next": target})

    assert_stays_on_site(response["Location"])


@pytest.mark.parametrize("theme", ["purple", "", "DARK", "dark\x00"])
def test_unknown_theme_is_refused_and_nothing_changes(client, employee, theme):
    client.force_login(employee)

    response = client.post(reverse("accounts:theme"), {"theme": theme}, HTTP_X_REQUESTED_WITH="fetch")

    assert response.status_code == 400
    employee.refresh_from_db()
    assert employee.theme == User.Theme.AUTO


def test_theme_switch_needs_sign_in_and_post(client, employee):
    anonymous = client.post(reverse("accounts:theme"), {"theme": "dark"})
    client.force_login(employee)
    by_get = client.get(reverse("accounts:theme"), {"theme": "dark"})

    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(LOGIN)
    assert by_get.status_code == 405
    employee.refresh_from_db()
    assert employee.theme == User.Theme.AUTO


# --- Profile and password -------------------------------------------------------------------------


def test_profile_saves_the_listed_fields(client, employee):
    client.force_login(employee)

    response = client.post(
        reverse("accounts:profile"),
        {
            "first_name": "Erika",
            "last_name": "Musterfrau",
            "email": "e.m@example.com",
            "language": "de",
            "theme": "dark",
        },
    )

    assert response.status_code == 302
    employee.refresh_from_db()
    assert (employee.last_name, employee.email, employee.language, employee.theme) == (
        "Musterfrau",
        "e.m@example.com",
        "de",
        "dark",
    )
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "de"


def test_profile_ignores_extra_fields(client, employee):
    """C13: a crafted POST cannot make anyone staff, superuser or IT agent, nor rename them."""
    other_group = it_staff_group()
    client.force_login(employee)
    password_hash = employee.password

    response = client.post(
        reverse("accounts:profile"),
        {
            "first_name": "Erika",
            "last_name": "Tester",
            "email": "erika@example.com",
            "language": "",
            "theme": "auto",
            "is_staff": "on",
            "is_superuser": "on",
            "is_active": "on",
            "username": "root",
            "password": "pbkdf2_sha256$1$salt$hash",
            "groups": [other_group.pk],
            "user_permissions": ["1", "2"],
            "date_joined": "2000-01-01 00:00",
        },
    )

    assert response.status_code == 302
    employee = User.objects.get(pk=employee.pk)
    assert (employee.is_staff, employee.is_superuser, employee.username) == (False, False, "erika")
    assert employee.password == password_hash
    assert not employee.groups.exists()
    assert not employee.user_permissions.exists()
    assert not employee.is_agent


def test_profile_with_invalid_email_changes_nothing(client, employee):
    client.force_login(employee)

    response = client.post(
        reverse("accounts:profile"),
        {"first_name": "Changed", "last_name": "Tester", "email": "not-an-email", "theme": "auto"},
    )

    assert response.status_code == 400
    employee.refresh_from_db()
    assert employee.first_name == "Erika"


def test_password_change(client, employee):
    client.force_login(employee)

    response = client.post(
        reverse("accounts:password_change"),
        {
            "old_password": password_of(employee),
            "new_password1": "a-much-better-Passw0rd",
            "new_password2": "a-much-better-Passw0rd",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:profile")
    employee.refresh_from_db()
    assert employee.check_password("a-much-better-Passw0rd")
    assert client.get(reverse("dashboard")).status_code == 200  # the session survived the change
    fresh = Client()
    assert sign_in(fresh, "erika", "a-much-better-Passw0rd", ip="10.5.5.5").status_code == 302


@pytest.mark.parametrize(
    ("old", "new1", "new2"),
    [
        ("wrong-old-password", "a-much-better-Passw0rd", "a-much-better-Passw0rd"),
        ("erika-pass-123", "a-much-better-Passw0rd", "a-different-Passw0rd"),
        ("erika-pass-123", "short", "short"),
        ("erika-pass-123", "password", "password"),
    ],
)
def test_password_change_refused(client, employee, old, new1, new2):
    client.force_login(employee)

    response = client.post(
        reverse("accounts:password_change"), {"old_password": old, "new_password1": new1, "new_password2": new2}
    )

    assert response.status_code == 200
    employee.refresh_from_db()
    assert employee.check_password(password_of(employee))


def test_password_change_needs_sign_in(client, db):
    response = client.get(reverse("accounts:password_change"))

    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)
