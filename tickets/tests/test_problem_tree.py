"""The problem-source tree: the write helpers, the tree check and its command, the picker."""

import random
import threading
from io import StringIO
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.models import ProtectedError
from django.urls import reverse
from django.utils import translation
from mptt.exceptions import InvalidMove

from tickets import problem_sources
from tickets.models import ProblemSource
from tickets.problem_sources import (
    pickable_error,
    picker_level,
    problem_source_create,
    problem_source_delete,
    problem_source_move,
    tree_errors,
)


def tree_fields() -> list[tuple]:
    return list(ProblemSource.objects.order_by("pk").values_list("pk", "parent_id", "tree_id", "lft", "rght", "level"))


def fresh(node: ProblemSource) -> ProblemSource:
    """The node as stored now: the `tree` fixture's copies predate their children's inserts."""
    return ProblemSource.objects.get(pk=node.pk)


def children_names(node: ProblemSource) -> list[str]:
    return [child.name_en for child in fresh(node).get_children()]


# --- tree_errors and check_problem_tree -----------------------------------------------------------


def test_tree_errors_is_empty_for_a_sound_tree(tree):
    assert tree_errors() == []


def test_tree_errors_reports_a_node_with_a_corrupted_lft(tree):
    toner = tree["toner"]
    ProblemSource.objects.filter(pk=toner.pk).update(lft=999)

    errors = tree_errors()

    assert f"node {toner.pk}: lft is 999, expected {toner.lft}" in errors


def test_tree_errors_reports_overlapping_ranges(tree):
    # The Software root claims the same range as the Hardware root: one node, two wrong fields.
    hardware = fresh(tree["hardware"])
    ProblemSource.objects.filter(pk=tree["software"].pk).update(tree_id=hardware.tree_id, rght=hardware.rght)

    assert tree_errors() != []


def test_check_problem_tree_reports_ok_with_the_node_count(tree):
    out = StringIO()

    call_command("check_problem_tree", stdout=out)

    assert "Problem-source tree OK (9 nodes)" in out.getvalue()


def test_check_problem_tree_fails_with_a_nonzero_exit_code_on_a_corrupt_tree(tree):
    ProblemSource.objects.filter(pk=tree["paper_jam"].pk).update(rght=2)
    out = StringIO()

    with pytest.raises(CommandError) as excinfo:
        call_command("check_problem_tree", stdout=out)

    # manage.py turns a CommandError into sys.exit(returncode).
    assert excinfo.value.returncode != 0
    assert f"node {tree['paper_jam'].pk}: rght is 2" in out.getvalue()
    assert "OK" not in out.getvalue()


def test_check_problem_tree_rebuild_repairs_a_corrupt_tree(tree):
    ProblemSource.objects.filter(pk=tree["battery"].pk).update(lft=40, rght=41, level=7)
    assert tree_errors() != []
    out = StringIO()

    call_command("check_problem_tree", "--rebuild", stdout=out)

    assert tree_errors() == []
    assert "Problem-source tree OK (9 nodes)" in out.getvalue()
    battery = fresh(tree["battery"])
    assert battery.parent_id == tree["laptop"].pk
    assert battery.level == 2


# --- The write helpers ----------------------------------------------------------------------------


def test_create_appends_the_node_as_last_child(tree):
    scanner = problem_source_create(parent=tree["printer"], name_en="Scanner", name_de="Scanner", icon="upc-scan")

    assert children_names(tree["printer"]) == ["Paper jam", "Toner empty", "Scanner"]
    assert scanner.level == 2
    assert tree_errors() == []


def test_create_without_parent_makes_a_new_root(tree):
    problem_source_create(name_en="Network", name_de="Netzwerk")

    roots = [node.name_en for node in ProblemSource.objects.root_nodes()]
    assert roots == ["Hardware", "Software", "Network"]
    assert tree_errors() == []


def test_create_with_a_stale_parent_copy_keeps_the_tree_sound(tree):
    stale_printer = tree["printer"]  # its rght is outdated after the first create

    problem_source_create(parent=stale_printer, name_en="Scanner")
    problem_source_create(parent=stale_printer, name_en="Stapler")

    assert children_names(stale_printer) == ["Paper jam", "Toner empty", "Scanner", "Stapler"]
    assert tree_errors() == []


def test_create_validates_the_fields_and_creates_nothing_when_invalid(tree):
    before = tree_fields()

    with pytest.raises(ValidationError) as excinfo:
        problem_source_create(parent=tree["printer"], name_en="Scanner", icon="Not An Icon!")

    assert "icon" in excinfo.value.message_dict
    assert tree_fields() == before


def test_move_makes_the_node_the_last_child_of_the_target(tree):
    problem_source_move(node=tree["toner"], target=tree["laptop"])

    assert children_names(tree["laptop"]) == ["Battery", "Toner empty"]
    assert children_names(tree["printer"]) == ["Paper jam"]
    assert fresh(tree["toner"]).level == 2
    assert tree_errors() == []


def test_move_to_the_left_of_a_sibling_reorders(tree):
    problem_source_move(node=tree["toner"], target=tree["paper_jam"], position="left")

    assert children_names(tree["printer"]) == ["Toner empty", "Paper jam"]
    assert tree_errors() == []


def test_move_a_subtree_into_another_tree(tree):
    problem_source_move(node=tree["printer"], target=tree["software"], position="first-child")

    printer = fresh(tree["printer"])
    assert printer.tree_id == fresh(tree["software"]).tree_id
    assert [node.name_en for node in printer.get_descendants()] == ["Paper jam", "Toner empty"]
    assert tree_errors() == []


def test_moves_with_stale_copies_keep_the_tree_sound(tree):
    # Both calls get the instances from before the first move; the helper re-reads them.
    problem_source_move(node=tree["paper_jam"], target=tree["software"])
    problem_source_move(node=tree["toner"], target=tree["software"])

    assert children_names(tree["software"]) == ["Paper jam", "Toner empty"]
    assert tree_errors() == []


def test_moving_a_node_into_its_own_subtree_is_refused_and_changes_nothing(tree):
    before = tree_fields()

    with pytest.raises(InvalidMove):
        problem_source_move(node=tree["hardware"], target=tree["printer"])

    assert tree_fields() == before


def test_delete_removes_a_leaf(tree):
    problem_source_delete(node=tree["toner"])

    assert not ProblemSource.objects.filter(pk=tree["toner"].pk).exists()
    assert children_names(tree["printer"]) == ["Paper jam"]
    assert tree_errors() == []


def test_deleting_a_node_that_tickets_use_is_refused_and_changes_nothing(ticket, tree):
    before = tree_fields()

    with pytest.raises(ProtectedError):
        problem_source_delete(node=tree["paper_jam"])

    # mptt closes the gap before Django refuses the delete; the lock's transaction undoes that.
    assert tree_fields() == before
    assert tree_errors() == []
    ticket.refresh_from_db()
    assert ticket.problem_source_id == tree["paper_jam"].pk


def test_deleting_a_node_with_children_is_refused_and_changes_nothing(tree):
    before = tree_fields()

    with pytest.raises(ProtectedError):
        problem_source_delete(node=tree["printer"])

    assert tree_fields() == before


# --- The picker -----------------------------------------------------------------------------------


def test_picker_top_level_lists_active_roots_in_tree_order(tree):
    problem_source_create(name_en="Old phones", is_active=False)
    problem_source_create(name_en="Network")

    level = picker_level(None)

    assert [node.name_en for node in level.choices] == ["Hardware", "Software", "Network"]
    assert level.path == []
    assert level.node is None


def test_picker_level_lists_only_active_children_in_tree_order(tree):
    problem_source_move(node=tree["laptop"], target=tree["printer"], position="left")

    level = picker_level(fresh(tree["hardware"]))

    # Fax is inactive and hidden; Laptop was moved before Printer.
    assert [node.name_en for node in level.choices] == ["Laptop", "Printer"]
    assert [node.name_en for node in level.path] == ["Hardware"]


def test_picker_level_annotates_whether_a_choice_has_active_children(tree):
    only_inactive_children = problem_source_create(parent=tree["software"], name_en="Legacy ERP")
    problem_source_create(parent=only_inactive_children, name_en="Old module", is_active=False)
    problem_source_create(parent=tree["software"], name_en="Teams")

    level = picker_level(fresh(tree["software"]))

    assert {node.name_en: node.has_active_children for node in level.choices} == {
        "Legacy ERP": False,
        "Teams": False,
    }
    assert {node.name_en: node.has_active_children for node in picker_level(fresh(tree["hardware"])).choices} == {
        "Printer": True,
        "Laptop": True,
    }
    assert [node.name_en for node in picker_level(fresh(tree["printer"])).path] == ["Hardware", "Printer"]


def build_large_tree(roots: int = 10, children: int = 5, grandchildren: int = 5) -> ProblemSource:
    first_root = None
    for r in range(roots):
        root = problem_source_create(name_en=f"Root {r}")
        first_root = first_root or root
        for c in range(children):
            child = problem_source_create(parent=root, name_en=f"Child {r}.{c}")
            for g in range(grandchildren):
                problem_source_create(parent=child, name_en=f"Leaf {r}.{c}.{g}", is_active=g != 0)
    return first_root


def picker_queries(node, django_assert_num_queries) -> None:
    """Two queries (path, choices) however big the tree, including everything a page reads."""
    node = fresh(node)
    with django_assert_num_queries(2):
        level = picker_level(node)
        rendered = [
            (choice.name, choice.help_text, choice.icon, choice.has_active_children) for choice in level.choices
        ]
        breadcrumbs = [ancestor.name for ancestor in level.path]
    assert rendered
    assert breadcrumbs[-1] == node.name
    with django_assert_num_queries(1):
        assert picker_level(None).choices


def test_picker_level_runs_a_constant_number_of_queries_in_a_small_tree(tree, django_assert_num_queries):
    picker_queries(tree["hardware"], django_assert_num_queries)


def test_picker_level_runs_a_constant_number_of_queries_in_a_300_node_tree(db, django_assert_num_queries):
    first_root = build_large_tree()
    assert ProblemSource.objects.count() == 310
    child = fresh(first_root).get_children().first()

    picker_queries(first_root, django_assert_num_queries)
    picker_queries(child, django_assert_num_queries)
    assert len(picker_level(child).choices) == 4  # the inactive leaf is hidden


# --- pickable_error -------------------------------------------------------------------------------


def test_pickable_error_refuses_an_inactive_node(tree):
    assert "no longer offered" in pickable_error(fresh(tree["retired"]))


def test_pickable_error_refuses_an_active_node_under_an_inactive_ancestor(tree):
    assert tree["retired_child"].is_active
    assert "no longer offered" in pickable_error(fresh(tree["retired_child"]))


def test_pickable_error_refuses_an_inner_node_that_is_not_selectable(tree):
    assert "more specific" in pickable_error(fresh(tree["printer"]))
    assert "more specific" in pickable_error(fresh(tree["hardware"]))


def test_pickable_error_accepts_a_selectable_inner_node(tree):
    assert pickable_error(fresh(tree["laptop"])) is None


def test_pickable_error_accepts_a_leaf(tree):
    assert pickable_error(fresh(tree["paper_jam"])) is None
    assert pickable_error(fresh(tree["software"])) is None


def test_pickable_error_accepts_an_inner_node_whose_children_are_all_inactive(tree):
    problem_source_create(parent=tree["software"], name_en="Lotus Notes", is_active=False)

    assert pickable_error(fresh(tree["software"])) is None


# --- Localised names ------------------------------------------------------------------------------


def test_name_and_help_text_follow_the_active_language(tree):
    paper_jam = tree["paper_jam"]

    with translation.override("de"):
        assert paper_jam.name == "Papierstau"
        assert str(paper_jam) == "Papierstau"
    with translation.override("en"):
        assert paper_jam.name == "Paper jam"
        assert paper_jam.help_text == "Paper is stuck"


def test_missing_translation_falls_back_to_the_other_language(tree):
    # Paper jam has no German help text; this node has only a German one.
    german_only = problem_source_create(parent=tree["software"], name_en="SAP", help_text_de="Nur auf Deutsch")

    with translation.override("de"):
        assert tree["paper_jam"].help_text == "Paper is stuck"
        assert german_only.name == "SAP"
    with translation.override("en"):
        assert german_only.help_text == "Nur auf Deutsch"


# --- The admin writes under the lock --------------------------------------------------------------


@pytest.fixture
def lock_spy():
    with mock.patch("tickets.admin.tree_write_lock", wraps=problem_sources.tree_write_lock) as spy:
        yield spy


def test_admin_drag_and_drop_move_runs_under_the_tree_lock(client, admin, tree, lock_spy):
    client.force_login(admin)

    response = client.post(
        reverse("admin:tickets_problemsource_changelist"),
        {"cmd": "move_node", "cut_item": tree["toner"].pk, "pasted_on": tree["laptop"].pk, "position": "last-child"},
    )

    assert response.status_code == 200
    assert lock_spy.call_count == 1
    assert fresh(tree["toner"]).parent_id == tree["laptop"].pk
    assert tree_errors() == []


def test_admin_add_form_runs_under_the_tree_lock(client, admin, tree, lock_spy):
    client.force_login(admin)

    response = client.post(
        reverse("admin:tickets_problemsource_add"),
        {
            "parent": tree["printer"].pk,
            "name_en": "Scanner",
            "name_de": "Scanner",
            "icon": "upc-scan",
            "is_active": "on",
        },
    )

    assert response.status_code == 302
    assert lock_spy.call_count == 1
    assert children_names(tree["printer"]) == ["Paper jam", "Toner empty", "Scanner"]
    assert tree_errors() == []


# --- Concurrent writers (PostgreSQL) --------------------------------------------------------------

THREADS = 6
OPERATIONS = 15


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_and_moves_keep_the_tree_sound():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: set DATABASE_URL")
    for r in range(3):
        root = problem_source_create(name_en=f"Root {r}")
        for c in range(3):
            problem_source_create(parent=root, name_en=f"Node {r}.{c}")
    initial = ProblemSource.objects.count()
    barrier = threading.Barrier(THREADS)
    created = [0] * THREADS
    moved = [0] * THREADS
    failures = []

    def writer(index: int) -> None:
        rng = random.Random(index)
        try:
            barrier.wait()
            for operation in range(OPERATIONS):
                # Copies read outside the lock: stale by the time the helper runs, as in a real request.
                nodes = list(ProblemSource.objects.all())
                if rng.random() < 0.5:
                    problem_source_create(parent=rng.choice(nodes), name_en=f"Thread {index} op {operation}")
                    created[index] += 1
                else:
                    node, target = rng.sample(nodes, 2)
                    position = rng.choice(["last-child", "first-child", "left", "right"])
                    try:
                        problem_source_move(node=node, target=target, position=position)
                        moved[index] += 1
                    except InvalidMove:
                        pass  # another writer made target a descendant of node meanwhile
        except Exception as exc:  # noqa: BLE001 - reported by the main thread
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(index,)) for index in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert sum(moved) > 0
    assert tree_errors() == []
    assert ProblemSource.objects.count() == initial + sum(created)
