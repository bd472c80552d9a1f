"""The stepping rules: exactly which steps log, evaluate, save and end a loop, and how a stop request ends it."""
from __future__ import annotations

import io
import os
import signal

import pytest

from ali_opt.stepping import Actions, StepLoop, StepSchedule


def schedule_of(schedule: StepSchedule, start: int = 0, grad_evals_per_step: int = 1, flops_per_step: int = 0,
                ) -> dict[str, list[int]]:
    """The steps at which each action happens when a loop runs ``schedule`` from ``start``
    (``"taken"``: every step taken; ``"acting"``: the steps that do anything)."""
    found = {"taken": [], "acting": [], "log": [], "evaluate": [], "save": [], "last": []}
    found["evaluate"] += [0] if schedule.begin(start, grad_evals=start * grad_evals_per_step,
                                               flops=start * flops_per_step) else []
    with StepLoop(schedule, start) as loop:
        for step in loop:
            found["taken"].append(step)
            actions = loop.done(grad_evals=step * grad_evals_per_step, flops=step * flops_per_step)
            assert actions.step == step and not actions.stopping
            if actions:
                found["acting"].append(step)
            for name in ("log", "evaluate", "save", "last"):
                if getattr(actions, name):
                    found[name].append(step)
    return found


def test_logs_every_log_every_steps_and_at_the_last_and_does_nothing_else_unasked():
    found = schedule_of(StepSchedule(7, log_every=5))
    assert found == {"taken": [1, 2, 3, 4, 5, 6, 7], "acting": [5, 7], "log": [5, 7], "evaluate": [], "save": [],
                     "last": [7]}


def test_evaluates_and_saves_every_so_many_steps_and_at_the_last():
    found = schedule_of(StepSchedule(20, log_every=5, eval_every=10, checkpoint_every=15))
    assert found["log"] == [5, 10, 15, 20]
    assert found["evaluate"] == [10, 20]
    assert found["save"] == [15, 20]
    assert found["acting"] == [5, 10, 15, 20] and found["last"] == [20]


def test_the_last_step_evaluates_and_saves_between_their_periods():
    found = schedule_of(StepSchedule(12, log_every=5, eval_every=5, checkpoint_every=100))
    assert (found["log"], found["evaluate"], found["save"]) == ([5, 10, 12], [5, 10, 12], [12])


def test_a_gradient_evaluation_budget_ends_the_loop_at_the_first_step_that_reaches_it():
    found = schedule_of(StepSchedule(100, log_every=5, eval_every=50, checkpoint_every=50, budget_grad_evals=10),
                        grad_evals_per_step=3)
    assert found["taken"] == [1, 2, 3, 4]  # 12 evaluations >= 10 after step 4
    assert (found["log"], found["evaluate"], found["save"], found["last"]) == ([4], [4], [4], [4])


def test_a_flops_budget_ends_the_loop_and_places_the_evaluation_points():
    schedule = StepSchedule(100, log_every=100, eval_points=[0.25, 0.5, 1], checkpoint_every=100, budget_flops=1000)
    assert schedule.quantity == "flops" and schedule.pending == [250, 500, 1000]
    found = schedule_of(schedule, flops_per_step=150)
    assert found["taken"] == [1, 2, 3, 4, 5, 6, 7]  # 1050 FLOPs >= 1000 after step 7
    assert found["evaluate"] == [2, 4, 7] and found["last"] == [7]


def test_eval_points_are_fractions_of_steps_without_a_budget_and_a_point_at_zero_evaluates_step_zero():
    schedule = StepSchedule(10, log_every=3, eval_every=2, eval_points=[0, 0.5, 1], checkpoint_every=10)
    assert schedule.quantity == "steps"
    found = schedule_of(schedule)
    assert found["evaluate"] == [0, 5, 10]  # eval_every does not apply when points are listed
    assert found["log"] == [3, 6, 9, 10]


def test_eval_points_of_a_grad_eval_budget_one_evaluation_per_step_however_many_points_it_crosses():
    schedule = StepSchedule(100, log_every=100, eval_points=[0.1, 0.2, 0.3, 0.9], budget_grad_evals=100)
    assert schedule.quantity == "grad_evals" and schedule.pending == pytest.approx([10, 20, 30, 90])
    found = schedule_of(schedule, grad_evals_per_step=25)
    assert found["evaluate"] == [1, 2, 4]  # step 1 reaches 10 and 20: one evaluation; step 4 is the last
    assert found["taken"] == [1, 2, 3, 4]


def test_without_a_point_at_zero_step_zero_does_not_evaluate():
    assert not StepSchedule(10, log_every=1, eval_points=[0.5]).begin(0)


def test_a_resumed_loop_skips_the_points_its_counts_reach_and_takes_the_steps_after_its_start():
    schedule = StepSchedule(10, log_every=4, eval_points=[0, 0.2, 0.4, 0.8], checkpoint_every=3)
    found = schedule_of(schedule, start=5)
    assert found["evaluate"] == [8, 10]  # points 0, 2 and 4 were done before the checkpoint at step 5; no step 0
    assert found["taken"] == [6, 7, 8, 9, 10]
    assert (found["log"], found["save"]) == ([8, 10], [6, 9, 10])


def test_a_resumed_budget_run_skips_points_by_its_restored_counts():
    schedule = StepSchedule(100, log_every=100, eval_points=[0, 0.5, 1], budget_grad_evals=20)
    found = schedule_of(schedule, start=5, grad_evals_per_step=2)  # 10 evaluations at the checkpoint
    assert found["evaluate"] == [10] and found["taken"] == [6, 7, 8, 9, 10]


def test_further_periodic_actions_are_named_and_zero_is_never():
    schedule = StepSchedule(7, log_every=10, periodic={"spectrum": 3, "off": 0})
    actions = [schedule.actions(step) for step in range(1, 8)]
    assert [a.step for a in actions if a.periodic] == [3, 6]
    assert all(a.periodic == frozenset({"spectrum"}) for a in actions if a.periodic)
    assert [a.step for a in actions if a] == [3, 6, 7]


def test_nothing_to_do_is_false_and_a_stop_request_alone_is_true():
    assert not Actions(step=3)
    assert Actions(step=3, stopping=True)
    assert StepSchedule(10, log_every=5, checkpoint_every=4).actions(3, stopping=True).save
    assert not StepSchedule(10, log_every=5).actions(3, stopping=True).save  # nothing to save in that loop


def stopped_loop(schedule: StepSchedule, signal_at: int) -> tuple[list[Actions], BaseException | None]:
    """Run ``schedule`` with signals caught, sending this process SIGTERM during step ``signal_at``."""
    seen, raised = [], None
    try:
        with StepLoop(schedule, signals=True, stop_message=lambda step: f"stopped after step {step}") as loop:
            for step in loop:
                if step == signal_at:
                    os.kill(os.getpid(), signal.SIGTERM)
                seen.append(loop.done())
    except KeyboardInterrupt as error:
        raised = error
    return seen, raised


def test_a_stop_request_saves_that_step_then_raises_keyboard_interrupt_and_restores_the_handlers():
    before = signal.getsignal(signal.SIGTERM)
    seen, raised = stopped_loop(StepSchedule(10, log_every=5, checkpoint_every=4), signal_at=3)
    assert [a.step for a in seen] == [1, 2, 3]
    assert seen[-1] == Actions(step=3, save=True, stopping=True)
    assert isinstance(raised, KeyboardInterrupt) and str(raised) == "stopped after step 3"
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_stop_request_at_the_last_step_ends_the_loop_as_the_last_step():
    seen, raised = stopped_loop(StepSchedule(4, log_every=5, checkpoint_every=4), signal_at=4)
    assert raised is None and seen[-1] == Actions(step=4, log=True, save=True, last=True, stopping=True)


def test_without_signals_a_loop_leaves_the_handlers_alone():
    before = signal.getsignal(signal.SIGTERM)
    with StepLoop(StepSchedule(2, log_every=1)) as loop:
        assert signal.getsignal(signal.SIGTERM) is before
        for _ in loop:
            loop.done()


def test_breaking_out_closes_the_bar_and_restores_the_handlers():
    before = signal.getsignal(signal.SIGINT)
    with StepLoop(StepSchedule(10, log_every=1), 2, progress={"file": io.StringIO()}, signals=True) as loop:
        assert (loop.bar.total, loop.bar.n) == (10, 2)  # a resumed bar starts at its start
        for step in loop:
            loop.done()
            if step == 4:
                break
    assert loop.bar.n == 4 and signal.getsignal(signal.SIGINT) is before


def test_a_step_without_done_is_an_error():
    with StepLoop(StepSchedule(3, log_every=1)) as loop, pytest.raises(RuntimeError, match="call done"):
        for _ in loop:
            pass
