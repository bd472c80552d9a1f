"""Stepping an :class:`~ali_opt.ensemble.Ensemble`: per-member reports, divergence, checkpoints.

A member *diverges* at step t when step t sees a non-finite loss or gradient for it, or leaves
it with a non-finite parameter. It is then *frozen*: its parameters are put back to those step
t started from and stay there, its ``diverged_at`` is t, and the other members go on. (A
frozen member's optimizer state may hold NaNs; the rules act elementwise, so they never
reach another member.) Freezing costs one copy of the parameters per step.
"""
from __future__ import annotations

from pathlib import Path

import torch

from optimizers import Averaged, GameOptimizer, StepReport

from .runtime.checkpoint import save_checkpoint
from .ensemble import Ensemble


class EnsembleTraining:
    """Steps ``optimizer`` (built on ``ensemble``) with batches from ``ensemble.sample_batch``."""

    def __init__(self, ensemble: Ensemble, optimizer: GameOptimizer | Averaged):
        self.ensemble = ensemble
        self.optimizer = optimizer
        self.steps_done = 0
        self.diverged_at: list[int | None] = [None] * ensemble.members

    @property
    def alive(self) -> torch.Tensor:
        """(N,) booleans: the members still training."""
        return torch.tensor([step is None for step in self.diverged_at])

    def step(self) -> StepReport:
        """One optimizer step of every member; freezes the members that diverge in it."""
        start = self.optimizer.copy_parameters()  # wrappers (averaging, lookahead) pass this to the scheme
        report = self.optimizer.step(self.ensemble.sample_batch)
        self.steps_done += 1
        finite = member_finite(report, self.ensemble)
        for index in torch.nonzero(~finite & self.alive).flatten().tolist():
            self.diverged_at[index] = self.steps_done
        frozen = ~self.alive
        if frozen.any():
            with torch.no_grad():
                for player, params in self.optimizer.params.items():
                    for param, value in zip(params, start[player]):
                        keep = frozen.to(param.device).reshape(-1, *[1] * (param.dim() - 1))
                        param.copy_(torch.where(keep, value, param))
        return report

    def state_dict(self) -> dict:
        return {"steps_done": self.steps_done,
                "diverged_at": [-1 if step is None else step for step in self.diverged_at]}

    def load_state_dict(self, state: dict) -> None:
        self.steps_done = int(state["steps_done"])
        self.diverged_at = [None if step < 0 else int(step) for step in state["diverged_at"]]

    # -- checkpoints ----------------------------------------------------------------------
    def checkpoint(self, path: Path, extra: dict | None = None) -> None:
        """Write everything needed to continue bit for bit: the ensemble (parameters, buffers, batch
        generators), the optimizer, this loop's state and the global torch RNG (dropout under vmap)."""
        save_checkpoint(path, {**(extra or {}), "game": self.ensemble.state_dict(),
                               "optimizer": self.optimizer.state_dict(), "training": self.state_dict(),
                               "torch_rng": torch.get_rng_state()})

    def restore(self, checkpoint: dict) -> None:
        """Continue from a payload written by :meth:`checkpoint` (read with ``load_checkpoint``)."""
        self.ensemble.load_state_dict(checkpoint["game"])
        self.optimizer.load_state_dict(checkpoint["optimizer"])
        self.load_state_dict(checkpoint["training"])
        torch.set_rng_state(checkpoint["torch_rng"])


def member_finite(report: StepReport, ensemble: Ensemble) -> torch.Tensor:
    """(N,) booleans: member i's losses and gradient norms in ``report`` and its parameters now are finite."""
    values = [report.metrics[f"loss_{player}"] for player in ensemble.players]
    values += list(report.member_grad_norms.values())
    return torch.isfinite(torch.stack(values)).all(0).cpu() & ensemble.member_parameters_finite().cpu()


def member_scalars(report: StepReport, ensemble: Ensemble) -> dict[str, list[float]]:
    """Per member: ``loss_<player>``, ``grad_norm_<player>`` and the game's metrics, as lists of N floats."""
    scalars = {name: value.tolist() for name, value in report.metrics.items()}
    scalars.update({f"grad_norm_{player}": norm.tolist() for player, norm in report.member_grad_norms.items()})
    return scalars
