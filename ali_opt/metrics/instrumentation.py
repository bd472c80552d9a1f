"""Turning an optimizer's step report into the scalars a run logs (one host transfer per log)."""
from __future__ import annotations

import torch

from optimizers import StepReport


class StepScalars:
    """Builds the logged scalars of a step report for a game with players ``d`` and ``g``.

    Names (a stable contract read by plots and users): ``loss_<player>``, ``loss_gap``
    (``loss_g - loss_d``), ``grad_norm_<player>``, ``grad_norm_<module>`` for each top-level
    module (``encoder``, ``decoder``, ``discriminator``), every metric the game reports
    (``d_real``, ``d_fake``, ``mu_mean``, ...), ``hamiltonian`` (1/2 |xi|^2, half the
    squared norm of the joint field, from the players' gradient norms in the report; for schemes
    that take a player's gradient elsewhere it is made of the gradients the step used) and ``grad_evals``;
    when ``optimizer`` is given and has a linear solver (``cgd``, ``acgd``, also inside the averaging and
    lookahead wrappers, which pass its attributes on), ``solver_iterations`` and ``solver_residual`` of its
    last solve (``last_solver_iterations``, ``last_solver_residual``).
    """

    def __init__(self, parameter_names: dict[str, list[str]], optimizer=None):
        self.solver = optimizer if hasattr(optimizer, "last_solver_iterations") else None
        self.module_members: dict[str, dict[str, list[int]]] = {}
        for player, names in parameter_names.items():
            for index, name in enumerate(names):
                module = name.split(".", 1)[0]
                self.module_members.setdefault(module, {}).setdefault(player, []).append(index)

    def __call__(self, report: StepReport) -> dict[str, float]:
        values = {f"loss_{player}": loss for player, loss in report.losses.items()}
        values["loss_gap"] = report.losses["g"] - report.losses["d"]
        values.update({f"grad_norm_{player}": norm for player, norm in report.grad_norms.items()})
        values["hamiltonian"] = 0.5 * torch.stack(list(report.grad_norms.values())).square().sum()
        for module, members in self.module_members.items():
            squares = [report.parameter_grad_norms[player][indices].square().sum()
                       for player, indices in members.items() if player in report.parameter_grad_norms]
            values[f"grad_norm_{module}"] = torch.stack(squares).sum().sqrt()
        values.update(report.metrics)
        names = list(values)
        numbers = torch.stack([values[name].detach().float().reshape(()) for name in names]).tolist()
        scalars = dict(zip(names, numbers))
        scalars["grad_evals"] = report.grad_evals
        if self.solver is not None:
            scalars["solver_iterations"] = int(self.solver.last_solver_iterations)
            scalars["solver_residual"] = float(self.solver.last_solver_residual)
        return scalars


def all_finite(report: StepReport, params: dict[str, list[torch.Tensor]]) -> torch.Tensor:
    """A 0-d bool tensor on the device (no sync): every loss and gradient norm of ``report``
    and every parameter after the step (``params``: each player's list) is finite."""
    largest = torch._foreach_norm([p for player_params in params.values() for p in player_params], ord=float("inf"))
    values = [*report.losses.values(), *report.grad_norms.values(), *(m.float() for m in largest)]
    return torch.isfinite(torch.stack(values)).all()
