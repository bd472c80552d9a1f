"""Deciding, step by step, what a training loop does: log, evaluate, save, stop.

A :class:`StepSchedule` holds the rules; a :class:`StepLoop` runs them around a caller's own
step (it owns the progress bar and, where asked, the signal handling), so that each training
loop keeps only its step and its own log, evaluate and save bodies. Steps count from 1. The rules:

- the **last** step is ``steps``, or the first step after which the cumulative gradient
  evaluations reach ``budget_grad_evals`` (when > 0) or the cumulative FLOPs reach
  ``budget_flops`` (when > 0);
- a step **logs** when ``step % log_every == 0``, and the last step logs;
- a step **evaluates** (where the schedule evaluates at all: ``eval_every`` > 0 or
  ``eval_points`` given) every ``eval_every`` steps or, with ``eval_points`` (fractions in [0, 1]
  of ``budget_flops``, else of ``budget_grad_evals``, else of ``steps``), at the first step whose
  cumulative count reaches each point: one evaluation however many points a step crosses. The
  last step evaluates. A point at 0 is an evaluation at step 0, before any update, and a resumed
  run skips the points its counts already reach (both: :meth:`StepSchedule.begin`);
- a step **saves** (where the schedule saves at all: ``checkpoint_every`` > 0) every
  ``checkpoint_every`` steps, at the last step, and when a stop was requested;
- ``periodic`` names further actions and their periods: with ``{"spectrum": 100}``, ``"spectrum"``
  is due at steps 100, 200, ... (a period of 0: never);
- a **stop request** (SIGINT or SIGTERM, with ``signals=True``) is read once per step, after the
  step: that step saves, and the loop then raises KeyboardInterrupt, unless it was the last step.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass

from tqdm import tqdm

from .runtime.interrupts import stop_requests


@dataclass(frozen=True)
class Actions:
    """What step ``step`` does; false (``not actions``) when it does nothing."""

    step: int
    log: bool = False
    evaluate: bool = False
    save: bool = False
    last: bool = False
    stopping: bool = False
    periodic: frozenset[str] = frozenset()
    """The names of the schedule's periodic actions due at this step."""

    def __bool__(self) -> bool:
        return self.log or self.evaluate or self.save or self.last or self.stopping or bool(self.periodic)


class StepSchedule:
    """Which steps of a run log, evaluate and save, and which is its last (the module's rules).

    It keeps the evaluation points not yet reached: call :meth:`begin` once, then
    :meth:`actions` for each step in order.
    """

    def __init__(self, steps: int, *, log_every: int, eval_every: int = 0, eval_points: Sequence[float] | None = (),
                 checkpoint_every: int = 0, budget_grad_evals: float = 0, budget_flops: float = 0,
                 periodic: Mapping[str, int] | None = None):
        if log_every < 1:
            raise ValueError(f"log_every={log_every!r} must be at least 1")
        self.steps, self.log_every, self.eval_every = steps, log_every, eval_every
        self.checkpoint_every = checkpoint_every
        self.budget_grad_evals, self.budget_flops = budget_grad_evals, budget_flops
        self.periodic = dict(periodic or {})
        fractions = list(eval_points or [])
        if budget_flops > 0:
            self.quantity, total = "flops", budget_flops
        elif budget_grad_evals > 0:
            self.quantity, total = "grad_evals", budget_grad_evals
        else:
            self.quantity, total = "steps", steps
        self.pending = [fraction * total for fraction in fractions]
        """The evaluation points not yet reached, in units of :attr:`quantity`."""
        self.listed = bool(fractions)
        """Whether evaluation points are listed (else ``eval_every`` applies)."""
        self.evaluates = self.listed or eval_every > 0

    def begin(self, start: int = 0, *, grad_evals: float = 0, flops: float = 0) -> bool:
        """Mark the points that the counts at step ``start`` reach as done (a resumed run does not
        evaluate them again); return whether step 0 evaluates (``start`` is 0 and a point is 0)."""
        return self._reached(start, grad_evals, flops) and start == 0

    def actions(self, step: int, *, grad_evals: float = 0, flops: float = 0, stopping: bool = False) -> Actions:
        """What ``step`` does, given the cumulative counts after it and whether a stop was requested."""
        last = step == self.steps or 0 < self.budget_grad_evals <= grad_evals or 0 < self.budget_flops <= flops
        reached = self._reached(step, grad_evals, flops) if self.listed else (
            self.eval_every > 0 and step % self.eval_every == 0)
        return Actions(
            step=step,
            log=step % self.log_every == 0 or last,
            evaluate=self.evaluates and (reached or last),
            save=self.checkpoint_every > 0 and (step % self.checkpoint_every == 0 or last or stopping),
            last=last,
            stopping=stopping,
            periodic=frozenset(name for name, every in self.periodic.items() if every > 0 and step % every == 0),
        )

    def _reached(self, steps: int, grad_evals: float, flops: float) -> bool:
        """Whether these counts reach the next pending point (all the points reached are then done)."""
        value = {"steps": steps, "grad_evals": grad_evals, "flops": flops}[self.quantity]
        reached = False
        while self.pending and value >= self.pending[0]:
            self.pending.pop(0)
            reached = True
        return reached


class StepLoop:
    """Steps ``start + 1`` to ``schedule.steps`` of a caller's loop, with a progress bar::

        with StepLoop(schedule, start, progress={"desc": "adam"}) as loop:
            for step in loop:
                report = optimizer.step(sample)        # the caller's own step
                actions = loop.done(grad_evals=optimizer.grad_evals)
                if not actions:
                    continue
                ...                                    # the caller's log, evaluate and save bodies

    ``loop.done(...)`` must follow each step: it advances the bar and returns the step's
    :class:`Actions`. After a ``last`` step the iteration ends; after a ``stopping`` one it
    raises ``KeyboardInterrupt(stop_message(step))``. The caller may break out (divergence).

    ``progress``: keyword arguments of the tqdm bar (``total`` defaults to ``schedule.steps``,
    ``initial`` to ``start``); None: no bar. ``signals``: catch SIGINT and SIGTERM inside the
    ``with`` block as stop requests (:func:`~ali_opt.runtime.interrupts.stop_requests`); else a
    signal acts as it would without the loop.
    """

    def __init__(self, schedule: StepSchedule, start: int = 0, *, progress: Mapping | None = None,
                 signals: bool = False, stop_message: Callable[[int], str] | None = None):
        self.schedule, self.start, self.signals = schedule, start, signals
        self.progress = {"total": schedule.steps, "initial": start, **progress} if progress is not None else None
        self.stop_message = stop_message or (lambda step: f"stopped by a signal after step {step}")
        self.bar: tqdm | None = None
        self._stop_requested: Callable[[], bool] = lambda: False
        self._step: int | None = None
        self._actions: Actions | None = None

    def __enter__(self) -> StepLoop:
        with ExitStack() as stack:
            self.bar = stack.enter_context(tqdm(**self.progress) if self.progress is not None else tqdm(disable=True))
            if self.signals:
                self._stop_requested = stack.enter_context(stop_requests())
            self._exit = stack.pop_all()
        return self

    def __exit__(self, *exc) -> bool | None:
        return self._exit.__exit__(*exc)

    def __iter__(self) -> Iterator[int]:
        for step in range(self.start + 1, self.schedule.steps + 1):
            self._step, self._actions = step, None
            yield step
            if self._actions is None:
                raise RuntimeError(f"step {step}: call done() after each step")
            if self._actions.last:
                return
            if self._actions.stopping:
                raise KeyboardInterrupt(self.stop_message(step))

    def done(self, *, grad_evals: float = 0, flops: float = 0) -> Actions:
        """The current step is taken: advance the bar, read a stop request (once), return its actions."""
        if self._step is None:
            raise RuntimeError("done() outside the loop's iteration")
        self.bar.update()
        stopping = self._stop_requested()  # read once: a signal arriving later is seen at the next step
        self._actions = self.schedule.actions(self._step, grad_evals=grad_evals, flops=flops, stopping=stopping)
        return self._actions
