"""Everything about the problem-source tree: the write lock, writes, the picker and the tree check.

django-mptt keeps ``lft``/``rght``/``level``/``tree_id`` by reading the neighbours and then shifting
ranges with several UPDATEs. Two writers doing that at the same time corrupt the tree, and mptt has no
lock of its own. Every write therefore runs inside :func:`tree_write_lock`: a transaction that holds a
PostgreSQL advisory lock (SQLite transactions here are IMMEDIATE, so SQLite serialises them already).
"""

from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field as dataclass_field

from django.db import connections, router, transaction
from django.db.models import Max, Q
from django.utils.translation import gettext as _

from tickets.models import ProblemSource

# An arbitrary, fixed 64-bit key: "ProblemS" in ASCII, so it is recognisable in pg_locks.
_ADVISORY_LOCK_KEY = 0x50726F626C656D53


@contextmanager
def tree_write_lock() -> Iterator[None]:
    """Serialise every write to the problem-source tree, across threads and processes."""
    using = router.db_for_write(ProblemSource)
    with transaction.atomic(using=using):
        connection = connections[using]
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_ADVISORY_LOCK_KEY])
        yield
        # A write may have moved a subtree or changed a node's policy: what it inherits follows.
        refresh_effective_sla_policies()


def problem_source_create(*, parent: ProblemSource | None = None, **fields) -> ProblemSource:
    """Create a node as the last child of ``parent`` (or as a new root)."""
    with tree_write_lock():
        if parent is not None:
            # The caller's copy may predate another writer's shift of lft/rght; read it afresh.
            parent = ProblemSource.objects.get(pk=parent.pk)
        node = ProblemSource(parent=parent, **fields)
        node.full_clean()
        node.save()
        return node


def problem_source_move(*, node: ProblemSource, target: ProblemSource, position: str = "last-child") -> None:
    """Move ``node`` relative to ``target`` (mptt positions: first-child, last-child, left, right)."""
    with tree_write_lock():
        node = ProblemSource.objects.get(pk=node.pk)
        target = ProblemSource.objects.get(pk=target.pk)
        node.move_to(target, position)


def problem_source_delete(*, node: ProblemSource) -> None:
    """Delete a node; refused (ProtectedError) while tickets or child nodes still use it."""
    with tree_write_lock():
        ProblemSource.objects.get(pk=node.pk).delete()


def problem_tree_rebuild() -> None:
    with tree_write_lock():
        ProblemSource.objects.rebuild()


@dataclass
class NewNode:
    """A node to create with :func:`problem_trees_bulk_create`: model field values and children."""

    fields: dict
    children: list["NewNode"] = dataclass_field(default_factory=list)


def problem_trees_bulk_create(roots: Sequence[NewNode], *, batch_size: int = 1000) -> list[ProblemSource]:
    """Add whole new trees in one INSERT per level; returns the nodes in tree order.

    mptt inserts node by node, shifting ``lft``/``rght`` of the nodes after each one, which makes
    hundreds of nodes slow. Here the MPTT fields are computed in one depth-first walk instead. New
    trees get fresh ``tree_id`` values, so no existing node moves; run :func:`tree_errors` to check.
    """
    with tree_write_lock():
        tree_id = ProblemSource.objects.aggregate(last=Max("tree_id"))["last"] or 0
        levels: list[list[tuple[ProblemSource, ProblemSource | None]]] = []
        in_order = []
        for root in roots:
            tree_id += 1
            counter = 1
            # Iterative depth-first walk: (spec, model parent, level, entering?)
            stack = [(root, None, 0, None)]
            while stack:
                spec, parent, level, node = stack.pop()
                if node is not None:  # leaving: every descendant has its lft/rght now
                    node.rght = counter
                    counter += 1
                    continue
                node = ProblemSource(**spec.fields, tree_id=tree_id, level=level, lft=counter)
                counter += 1
                in_order.append(node)
                while len(levels) <= level:
                    levels.append([])
                levels[level].append((node, parent))
                stack.append((spec, parent, level, node))
                stack.extend((child, node, level + 1, None) for child in reversed(spec.children))
        # Level by level, so that every parent has its primary key before its children are inserted.
        for rows in levels:
            for node, parent in rows:
                node.parent = parent
            ProblemSource.objects.bulk_create([node for node, _parent in rows], batch_size=batch_size)
        return in_order


# --- The picker -----------------------------------------------------------------------------------


@dataclass
class PickerLevel:
    """What the ticket picker shows for one step of the drill-down."""

    node: ProblemSource | None  # None: the top level
    path: list[ProblemSource]  # ancestors of node and node itself, root first
    choices: list[ProblemSource]  # active children, annotated with has_active_children


def is_pickable(node: ProblemSource, *, has_active_children: bool) -> bool:
    return node.is_active and (node.is_selectable or not has_active_children)


def picker_level(node: ProblemSource | None) -> PickerLevel:
    """The active children of ``node`` (the roots for None), in tree order: two queries."""
    # Children by parent link rather than by the node's lft/rght, which may be stale on a copy.
    if node is None:
        choices = ProblemSource.objects.filter(parent__isnull=True)
        path = []
    else:
        choices = ProblemSource.objects.filter(parent=node)
        path = list(node.get_ancestors(include_self=True))
    choices = list(choices.active().with_active_children().order_by("tree_id", "lft"))
    return PickerLevel(node=node, path=path, choices=choices)


def reachable_in_picker(node: ProblemSource) -> bool:
    """True when the node and all its ancestors are active, as the picker would show it.

    Reads ``has_inactive_ancestor`` when the node was loaded with it (``with_inactive_ancestor()``).
    """
    if not node.is_active:
        return False
    retired_above = getattr(node, "has_inactive_ancestor", None)
    if retired_above is None:
        retired_above = node.get_ancestors().filter(is_active=False).exists()
    return not retired_above


def pickable_error(node: ProblemSource) -> str | None:
    """Why a ticket cannot be filed on ``node``, or None when it can. Without queries for a node
    loaded with ``with_active_children().with_inactive_ancestor()``, as the ticket form does."""
    if not reachable_in_picker(node):
        return _("This problem source is no longer offered. Please choose another one.")
    has_active_children = getattr(node, "has_active_children", None)
    if has_active_children is None:
        has_active_children = ProblemSource.objects.filter(parent=node, is_active=True).exists()
    if not is_pickable(node, has_active_children=has_active_children):
        return _("Please choose a more specific problem source.")
    return None


def search_nodes(text: str, *, limit: int = 15) -> list[tuple[ProblemSource, list[ProblemSource]]]:
    """Nodes whose English or German name contains every word of ``text``, in tree order, each with
    its path (root first, the node last): two queries whatever the tree's size."""
    words = text.replace("\x00", " ").split()[:5]  # PostgreSQL refuses NUL in a string parameter
    if not words:
        return []
    nodes = ProblemSource.objects.all()
    for word in words:
        nodes = nodes.filter(Q(name_en__icontains=word) | Q(name_de__icontains=word))
    nodes = list(nodes.order_by("tree_id", "lft")[:limit])
    if not nodes:
        return []
    ancestors = Q()
    for node in nodes:
        ancestors |= Q(tree_id=node.tree_id, lft__lt=node.lft, rght__gt=node.rght)
    above = list(ProblemSource.objects.filter(ancestors).order_by("lft"))
    return [
        (node, [a for a in above if a.tree_id == node.tree_id and a.lft < node.lft and a.rght > node.rght] + [node])
        for node in nodes
    ]


def browse_level(node: ProblemSource | None) -> PickerLevel:
    """All children of ``node`` (the roots for None), retired ones too, for agents' filters: two queries.

    ``has_active_children`` is set as in the picker; agents may choose any node, inner ones included.
    """
    children = ProblemSource.objects.filter(parent=node) if node else ProblemSource.objects.filter(parent=None)
    path = list(node.get_ancestors(include_self=True)) if node else []
    return PickerLevel(node=node, path=path, choices=list(children.with_active_children().order_by("tree_id", "lft")))


def indented_name(node: ProblemSource) -> str:
    """The node's name indented by its depth, for flat <select> lists of the tree."""
    return f"{'— ' * node.level}{node.name}"


def display_paths(separator: str = " › ") -> dict[int, str]:
    """Every node's localised path ("Hardware › Printer") by primary key, from one query."""
    paths: dict[int, str] = {}
    for node in ProblemSource.objects.order_by("tree_id", "lft"):  # tree order: parents come first
        parent_path = paths.get(node.parent_id)
        paths[node.pk] = f"{parent_path}{separator}{node.name}" if parent_path else node.name
    return paths


# --- The tree check -------------------------------------------------------------------------------


def tree_errors() -> list[str]:
    """Compare the stored MPTT fields with the ones the parent links imply; [] means a sound tree.

    The sibling order is taken from the stored ``lft`` values, so a tree that is merely ordered
    differently is not reported; overlapping, gapped or wrongly nested ranges are.
    """
    nodes = list(
        ProblemSource.objects.order_by("tree_id", "lft").values("pk", "parent_id", "tree_id", "lft", "rght", "level")
    )
    by_pk = {node["pk"]: node for node in nodes}
    children = defaultdict(list)
    roots = []
    errors = []
    for node in nodes:
        if node["parent_id"] is None:
            roots.append(node)
        elif node["parent_id"] not in by_pk:
            errors.append(f"node {node['pk']}: parent {node['parent_id']} does not exist")
        else:
            children[node["parent_id"]].append(node)

    tree_ids = [root["tree_id"] for root in roots]
    if len(set(tree_ids)) != len(tree_ids):
        errors.append("several root nodes share a tree_id")

    seen = set()
    for root in roots:
        expected = {}
        counter = 1
        # Iterative depth-first walk: (node, level, entering?)
        stack = [(root, 0, True)]
        while stack:
            node, level, entering = stack.pop()
            if entering:
                if node["pk"] in seen:
                    errors.append(f"node {node['pk']}: reached twice (cycle)")
                    continue
                seen.add(node["pk"])
                expected[node["pk"]] = {"lft": counter, "level": level}
                counter += 1
                stack.append((node, level, False))
                for child in reversed(children[node["pk"]]):
                    stack.append((child, level + 1, True))
            else:
                expected[node["pk"]]["rght"] = counter
                counter += 1
        for pk, want in expected.items():
            have = by_pk[pk]
            if have["tree_id"] != root["tree_id"]:
                errors.append(f"node {pk}: tree_id {have['tree_id']}, its root has {root['tree_id']}")
            for field in ("lft", "rght", "level"):
                if have[field] != want[field]:
                    errors.append(f"node {pk}: {field} is {have[field]}, expected {want[field]}")

    for node in nodes:
        if node["pk"] not in seen and node["parent_id"] in by_pk:
            errors.append(f"node {node['pk']}: not reachable from any root")
    return errors


# --- Inherited settings -------------------------------------------------------------------------


def refresh_effective_sla_policies() -> int:
    """Store on every node the SLA policy in force there: its own, else the nearest ancestor's.

    One query reads the tree, one UPDATE per policy writes the nodes whose value changed; returns how
    many changed. Runs after every tree write (``tree_write_lock``), so a node moved under another
    parent takes its new parent's policy for new tickets at once. Existing tickets keep theirs.
    """
    nodes = ProblemSource.objects.order_by("tree_id", "lft").values_list(
        "pk", "parent_id", "sla_policy_id", "effective_sla_policy_id"
    )
    effective: dict[int, int | None] = {}
    changed: dict[int | None, list[int]] = defaultdict(list)
    for pk, parent_id, own, stored in nodes:  # tree order: a parent comes before its children
        value = own if own is not None else effective.get(parent_id)
        effective[pk] = value
        if value != stored:
            changed[value].append(pk)
    for value, pks in changed.items():
        ProblemSource.objects.filter(pk__in=pks).update(effective_sla_policy_id=value)
    return sum(len(pks) for pks in changed.values())


def sla_policy_origin(node: ProblemSource) -> ProblemSource | None:
    """The node whose own SLA policy is in force on ``node`` (itself or its nearest ancestor that
    sets one), with the policy: one query. None when no policy applies."""
    return (
        ProblemSource.objects.filter(
            tree_id=node.tree_id, lft__lte=node.lft, rght__gte=node.rght, sla_policy__isnull=False
        )
        .select_related("sla_policy")
        .order_by("-lft")
        .first()
    )
