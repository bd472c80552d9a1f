"""The base of the optimizers that wrap another game optimizer (averaging, lookahead)."""
from __future__ import annotations

from .base import GameOptimizer, Sample, StepReport
from .options import OptionOwner


class OptimizerWrapper(OptionOwner):
    """Steps ``inner``, then does its own work (:meth:`after_step`) on the new iterates.

    What the wrapper does not define (players, parameter_names, params, grad_evals, game, the
    parameter helpers ...) is the inner optimizer's. ``count`` is the number of steps taken.
    A wrapper declares its options as a scheme does (:mod:`optimizers.options`), taken by keyword.
    """

    def __init__(self, inner: GameOptimizer, **options):
        self.inner = inner
        self.count = 0
        self._take_options(options)

    def __getattr__(self, name):
        if name == "inner":  # not set yet (copy, unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.inner, name)

    @classmethod
    def turned_on(cls, options: dict) -> bool:
        """Whether ``options`` (the wrapper's, from a config) ask for the wrapper at all."""
        return True

    def step(self, sample: Sample) -> StepReport:
        """One step of ``inner`` (its report, from the pre-update point), then :meth:`after_step`."""
        report = self.inner.step(sample)
        self.count += 1
        self.after_step()
        return report

    def after_step(self) -> None:
        raise NotImplementedError
