"""The service-level clock stored on tickets, kept by the workflows (tickets.sla via services)."""

from datetime import timedelta

import pytest
import time_machine

from tickets import problem_sources, services, sla
from tickets.models import ProblemSource, Ticket
from tickets.tests.sla_helpers import berlin, set_policy, standard_policy

Status = Ticket.Status
Priority = Ticket.Priority


@pytest.fixture
def policy(db):
    return standard_policy()


@pytest.fixture
def covered(tree, policy):
    """The printer subtree under the standard policy (set on "Printer", inherited below)."""
    set_policy(tree["printer"], policy)
    return {name: ProblemSource.objects.get(pk=node.pk) for name, node in tree.items()}


def file(employee, node, *, at, priority=Priority.NORMAL) -> Ticket:
    with time_machine.travel(at, tick=False):
        return services.ticket_create(
            requester=employee, problem_source=node, title="Printer", description="jam", priority=priority
        )


def fresh(ticket) -> Ticket:
    return Ticket.objects.select_related("sla_policy__calendar").get(pk=ticket.pk)


# --- Inheritance ------------------------------------------------------------------------------------


def test_children_inherit_the_nearest_policy_and_others_have_none(covered, policy):
    assert covered["paper_jam"].effective_sla_policy_id == policy.pk
    assert covered["printer"].effective_sla_policy_id == policy.pk
    assert covered["hardware"].effective_sla_policy_id is None
    assert covered["software"].effective_sla_policy_id is None
    origin = problem_sources.sla_policy_origin(covered["paper_jam"])
    assert origin.pk == covered["printer"].pk and origin.sla_policy == policy


def test_a_nearer_policy_wins_and_a_moved_node_takes_its_new_parents(covered, policy, tree):
    urgent = standard_policy(calendar=policy.calendar, name="Urgent", first_response_normal=30)
    set_policy(covered["toner"], urgent)
    assert ProblemSource.objects.get(pk=tree["toner"].pk).effective_sla_policy_id == urgent.pk

    problem_sources.problem_source_move(node=tree["paper_jam"], target=tree["software"])

    assert ProblemSource.objects.get(pk=tree["paper_jam"].pk).effective_sla_policy_id is None


# --- Due times when filing ------------------------------------------------------------------------


def test_filing_stores_the_due_times_in_business_hours(covered, employee):
    # Friday 15:00: 4 business hours for the first answer end Monday 10:00; 16 for the resolution
    # end Tuesday 13:00 (2 on Friday, 9 on Monday, 5 on Tuesday).
    ticket = fresh(file(employee, covered["paper_jam"], at=berlin(2026, 3, 6, 15, 0)))

    assert ticket.sla_policy is not None
    assert ticket.first_response_due_at == berlin(2026, 3, 9, 10, 0)
    assert ticket.resolution_due_at == berlin(2026, 3, 10, 13, 0)
    assert ticket.sla_due_at == ticket.first_response_due_at
    assert ticket.sla_warning_at == berlin(2026, 3, 9, 9, 12)  # 80 % of 240 minutes = 192


def test_a_ticket_on_a_node_without_policy_has_no_clock(tree, employee):
    ticket = fresh(file(employee, tree["software"], at=berlin(2026, 3, 6, 15, 0)))
    assert ticket.sla_policy is None and ticket.sla_due_at is None and ticket.resolution_due_at is None


def test_a_priority_without_target_has_no_due_time_for_it(tree, employee, policy):
    policy.first_response_low = None
    policy.save()
    set_policy(tree["paper_jam"], policy)
    ticket = fresh(
        file(
            employee,
            ProblemSource.objects.get(pk=tree["paper_jam"].pk),
            at=berlin(2026, 3, 2, 9, 0),
            priority=Priority.LOW,
        )
    )
    assert ticket.first_response_due_at is None
    # 40 business hours of 9-hour days from Monday 9:00: 8 + 9 + 9 + 9, and 5 on Friday.
    assert ticket.sla_due_at == ticket.resolution_due_at == berlin(2026, 3, 6, 13, 0)


# --- Changes recompute in the same transaction ------------------------------------------------------


def test_raising_the_priority_moves_the_due_times_forward(covered, employee, agent):
    ticket = file(employee, covered["paper_jam"], at=berlin(2026, 3, 2, 9, 0))
    with time_machine.travel(berlin(2026, 3, 2, 9, 30), tick=False):
        services.ticket_update(ticket=ticket, actor=agent, priority=Priority.HIGH)
    ticket = fresh(ticket)
    assert ticket.first_response_due_at == berlin(2026, 3, 2, 10, 0)
    assert ticket.resolution_due_at == berlin(2026, 3, 2, 17, 0)


def test_a_move_under_a_policy_with_a_new_priority_computes_the_due_times_once(
    covered, policy, employee, agent, monkeypatch
):
    ticket = file(employee, covered["software"], at=berlin(2026, 3, 2, 9, 0))
    assert ticket.sla_policy is None
    computed = []
    monkeypatch.setattr(sla, "recompute", lambda ticket, real=sla.recompute: computed.append(real(ticket)))
    with time_machine.travel(berlin(2026, 3, 2, 9, 30), tick=False):
        services.ticket_update(ticket=ticket, actor=agent, problem_source=covered["paper_jam"], priority=Priority.HIGH)
    assert len(computed) == 1
    ticket = fresh(ticket)
    assert ticket.sla_policy == policy
    assert ticket.first_response_due_at == berlin(2026, 3, 2, 10, 0)  # the new policy's targets for "high"
    assert ticket.resolution_due_at == berlin(2026, 3, 2, 17, 0)


def test_moving_a_ticket_to_a_node_without_policy_removes_its_clock(covered, employee, agent):
    ticket = file(employee, covered["paper_jam"], at=berlin(2026, 3, 2, 9, 0))
    services.ticket_update(ticket=ticket, actor=agent, problem_source=covered["software"])
    ticket = fresh(ticket)
    assert ticket.sla_policy is None and ticket.sla_due_at is None


def test_the_first_answer_makes_the_resolution_due_next(covered, employee, agent):
    ticket = file(employee, covered["paper_jam"], at=berlin(2026, 3, 2, 9, 0))
    with time_machine.travel(berlin(2026, 3, 2, 10, 0), tick=False):
        services.ticket_comment(ticket=ticket, author=agent, body="On my way")
    ticket = fresh(ticket)
    assert ticket.first_response_at == berlin(2026, 3, 2, 10, 0)
    assert ticket.sla_due_at == ticket.resolution_due_at == berlin(2026, 3, 3, 16, 0)
    assert ticket.sla_warning_at == berlin(2026, 3, 3, 12, 48)  # 80 % of 16 h = 12 h 48 min


def test_an_internal_note_is_no_first_answer(covered, employee, agent):
    ticket = file(employee, covered["paper_jam"], at=berlin(2026, 3, 2, 9, 0))
    services.ticket_comment(ticket=ticket, author=agent, body="Looking", is_internal=True)
    assert fresh(ticket).sla_due_at == berlin(2026, 3, 2, 13, 0)


# --- The clock stops while waiting and after resolution ---------------------------------------------


def test_waiting_for_the_requester_stops_the_clock_and_their_answer_restarts_it(covered, employee, agent):
    ticket = file(employee, covered["paper_jam"], at=berlin(2026, 3, 2, 9, 0))
    with time_machine.travel(berlin(2026, 3, 2, 10, 0), tick=False):
        services.ticket_comment(ticket=ticket, author=agent, body="Which tray?")
        services.ticket_update(ticket=ticket, actor=agent, status=Status.WAITING)
    paused = fresh(ticket)
    assert paused.sla_paused_at == berlin(2026, 3, 2, 10, 0)
    assert paused.sla_due_at is None and paused.sla_warning_at is None  # never "breached" while waiting
    assert sla.time_left(paused) == timedelta(hours=15)  # 16 h target, 1 h used

    # The requester answers the next morning at 9:00: 8 business hours stood still (10-17, 8-9).
    with time_machine.travel(berlin(2026, 3, 3, 9, 0), tick=False):
        services.ticket_comment(ticket=ticket, author=employee, body="Tray 2")
    running = fresh(ticket)
    assert running.status == Status.WAITING  # the agent changes it; the clock runs already
    assert running.sla_paused_at is None and running.sla_paused_seconds == 8 * 3600
    assert running.sla_due_at == running.resolution_due_at == berlin(2026, 3, 4, 15, 0)


def test_back_to_in_progress_restarts_the_clock(covered, employee, agent):
    ticket = file(employee, covered["paper_jam"], at=berlin(2026, 3, 2, 9, 0))
    with time_machine.travel(berlin(2026, 3, 2, 11, 0), tick=False):
        services.ticket_update(ticket=ticket, actor=agent, status=Status.WAITING)
    with time_machine.travel(berlin(2026, 3, 2, 12, 0), tick=False):
        services.ticket_update(ticket=ticket, actor=agent, status=Status.IN_PROGRESS)
    assert fresh(ticket).first_response_due_at == berlin(2026, 3, 2, 14, 0)  # 13:00 + the hour it waited


def test_resolving_stores_the_business_time_left_and_reopening_continues(covered, employee, agent):
    ticket = file(employee, covered["paper_jam"], at=berlin(2026, 3, 2, 9, 0))
    with time_machine.travel(berlin(2026, 3, 3, 12, 0), tick=False):
        services.ticket_update(ticket=ticket, actor=agent, status=Status.RESOLVED)
    resolved = fresh(ticket)
    assert resolved.sla_resolution_left_seconds == 4 * 3600  # due Tuesday 16:00
    assert resolved.sla_due_at is None

    with time_machine.travel(berlin(2026, 3, 4, 12, 0), tick=False):
        services.ticket_reopen(ticket=ticket, user=employee)
    reopened = fresh(ticket)
    assert reopened.sla_resolution_left_seconds is None
    assert reopened.resolution_due_at == berlin(2026, 3, 4, 16, 0)  # 4 hours left from reopening


def test_a_late_resolution_stores_negative_time_left(covered, employee, agent):
    ticket = file(employee, covered["paper_jam"], at=berlin(2026, 3, 2, 9, 0))
    with time_machine.travel(berlin(2026, 3, 4, 9, 0), tick=False):
        services.ticket_close(ticket=ticket, user=employee)
    assert fresh(ticket).sla_resolution_left_seconds == -2 * 3600  # due Tuesday 16:00


# --- Calendar and policy changes --------------------------------------------------------------------


def test_changing_the_calendar_recomputes_open_tickets(covered, employee, agent, policy):
    ticket = file(employee, covered["paper_jam"], at=berlin(2026, 3, 2, 9, 0))
    done = file(employee, covered["paper_jam"], at=berlin(2026, 3, 2, 9, 0))
    services.ticket_close(ticket=done, user=employee)
    calendar = policy.calendar
    calendar.closure_days = "2026-03-02 strike"
    calendar.save()

    changed = sla.recompute_open_tickets(calendar=calendar)

    assert changed == 1
    assert fresh(ticket).first_response_due_at == berlin(2026, 3, 3, 12, 0)
    assert fresh(done).first_response_due_at == berlin(2026, 3, 2, 13, 0)  # finished tickets keep theirs
