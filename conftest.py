"""Shared personas and a small problem-source tree for every app's tests."""

import os
import shutil

import pytest
from django.contrib.auth.models import Group

from accounts.models import User
from tickets import problem_sources, services
from tickets.models import ProblemSource, Ticket

# The fake Entra ID and the fixtures that point the app at it, and the repo's nginx in front of the
# live server, for every app's tests.
pytest_plugins = ["accounts.tests.entra_fixtures", "core.tests.nginx_proxy", "core.tests.mail_fixtures"]


@pytest.fixture(autouse=True)
def attachment_root(settings, tmp_path):
    settings.ATTACHMENT_ROOT = tmp_path / "attachments"
    return settings.ATTACHMENT_ROOT


@pytest.fixture(autouse=True)
def empty_cache():
    """Each test starts with an empty cache (cached sessions and the health check use it)."""
    from django.core.cache import caches

    caches["default"].clear()
    yield
    caches["default"].clear()


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    # Every persona gets a password; the production hasher would cost ~0.3 s per user.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def plain_static_storage(settings):
    # Tests run with DEBUG off but without collectstatic; the manifest storage would need it.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def make_user(username: str, *, agent: bool = False, **fields) -> User:
    fields.setdefault("first_name", username.capitalize())
    fields.setdefault("last_name", "Tester")
    fields.setdefault("email", f"{username}@example.com")
    user = User.objects.create_user(username=username, password=f"{username}-pass-123", **fields)
    if agent:
        group, _ = Group.objects.get_or_create(name="IT staff")
        user.groups.add(group)
    return user


@pytest.fixture
def employee(db):
    return make_user("erika")


@pytest.fixture
def other_employee(db):
    return make_user("otto")


@pytest.fixture
def agent(db):
    return make_user("anna", agent=True)


@pytest.fixture
def second_agent(db):
    return make_user("bernd", agent=True)


@pytest.fixture
def admin(db):
    return User.objects.create_superuser("root", "root@example.com", "root-pass-123")


@pytest.fixture
def tree(db):
    """Hardware › Printer › Paper jam / Toner; Hardware › Other (selectable inner node); Software."""
    create = problem_sources.problem_source_create
    hardware = create(name_en="Hardware", name_de="Hardware", icon="pc-display")
    printer = create(parent=hardware, name_en="Printer", name_de="Drucker", icon="printer")
    paper_jam = create(parent=printer, name_en="Paper jam", name_de="Papierstau", help_text_en="Paper is stuck")
    toner = create(parent=printer, name_en="Toner empty", name_de="Toner leer")
    laptop = create(parent=hardware, name_en="Laptop", name_de="Laptop", is_selectable=True)
    battery = create(parent=laptop, name_en="Battery", name_de="Akku")
    retired = create(parent=hardware, name_en="Fax", name_de="Fax", is_active=False)
    retired_child = create(parent=retired, name_en="Fax paper", name_de="Faxpapier")
    software = create(name_en="Software", name_de="Software", icon="window")
    nodes = {
        "hardware": hardware,
        "printer": printer,
        "paper_jam": paper_jam,
        "toner": toner,
        "laptop": laptop,
        "battery": battery,
        "retired": retired,
        "retired_child": retired_child,
        "software": software,
    }
    # Each create shifted the MPTT fields of earlier nodes; hand out fresh copies.
    fresh = ProblemSource.objects.in_bulk([node.pk for node in nodes.values()])
    return {name: fresh[node.pk] for name, node in nodes.items()}


@pytest.fixture
def ticket(employee, tree) -> Ticket:
    return services.ticket_create(
        requester=employee,
        problem_source=tree["paper_jam"],
        title="Printer on floor 2 jams",
        description="Every **second** page jams.",
        priority=Ticket.Priority.NORMAL,
    )


@pytest.fixture
def other_ticket(other_employee, tree) -> Ticket:
    return services.ticket_create(
        requester=other_employee,
        problem_source=tree["software"],
        title="Excel crashes",
        description="When I open the budget sheet.",
    )


# --- Browser tests --------------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def pytest_collection_modifyitems(config, items):
    """Browser tests need Debian's Chromium. Without it they are skipped on a developer's machine,
    but CI sets REQUIRE_BROWSER=1 so that a missing browser fails the run instead."""
    if os.path.exists(CHROMIUM) or os.environ.get("REQUIRE_BROWSER") == "1":
        return
    skip = pytest.mark.skip(reason=f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            # The Teams tab test frames the live server (localhost) in a page playing
            # teams.microsoft.com; Chromium's local-network checks would block that frame.
            "--disable-features=LocalNetworkAccessChecks,BlockInsecurePrivateNetworkRequests",
        ],
    }


@pytest.fixture(scope="session")
def live_server(live_server, django_db_setup, django_db_blocker):
    """pytest-django's live server, and at the end of the run the database sessions its request
    threads left idle ended: PostgreSQL refuses to drop the test database while any is connected."""
    yield live_server
    from django.db import connection

    if connection.vendor == "postgresql":
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        connection.close()  # and this one, opened for the query above


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "en-US", "viewport": {"width": 1280, "height": 900}}


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings, tmp_path_factory):
    """On SQLite, test in a file rather than in memory. The browser tests' live server then opens
    its own connections instead of sharing the test thread's, which its request threads would
    otherwise touch from the wrong thread while Chromium closes keep-alive connections."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        database.setdefault("TEST", {})["NAME"] = str(tmp_path_factory.mktemp("db") / "test.sqlite3")
