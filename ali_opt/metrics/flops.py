r"""The FLOPs of an optimizer step, counted with ``torch.utils.flop_counter.FlopCounterMode``.

A budget in gradient evaluations is not a budget in compute: alternating Adam is charged two
evaluations per step but each differentiates one player's loss only (its step counts 1.32
Adam steps of FLOPs, not 2), and a Hessian-vector product is charged one evaluation whatever it
costs. A run therefore also counts its compute in FLOPs, as ``FlopCounterMode`` counts them on
the run's own model, batch size and precision: the multiply-adds of the matrix products and
convolutions (forward, backward and double-backward passes; elementwise work such as the
update rules, activations and BatchNorm is not counted, and is small beside them).

- :func:`step_flops` counts one optimizer step, on deep copies of the game and the optimizer
  (under :func:`torch.random.fork_rng`), so that the run's parameters, optimizer state,
  BatchNorm statistics and random streams are untouched: a run that counts FLOPs trains bit
  for bit as one that does not. The whole step is counted, whatever the scheme does inside
  it: alternating's later evaluations (after the first player moved, ``d_steps`` included),
  extrapolation's second evaluation, the second-order schemes' Hessian-vector products.
- :class:`StepCost` is what a run charges per step. Every scheme but competitive gradient
  descent (``cgd``, ``acgd``) spends the same work at every step (the FLOP count depends on
  shapes, never on values), so one counted step is the cost of all of them. CGD's linear
  solve (CG or GMRES) runs a data-dependent number of iterations, each two Hessian-vector
  products (two more for a warm start), all counted in the step's ``grad_evals``;
  :func:`measure_step_cost` counts two CGD steps with one and with two iterations forced and
  charges a step ``flops + (Δgrad_evals - grad_evals) × extra_flops / extra_evals`` from the
  evaluations it reports: exact, as the products come in pairs of the two mixed blocks and
  nothing else that FlopCounterMode counts depends on the iterations (the tests check it
  against counted steps, warm-started ones included). Counting every step live instead would
  give the same numbers at a dispatch per operator per step: +38% to +59% step time on
  cifar32 at width 1/8, batch 64, on a CPU.
- :func:`run_step_cost` caches costs in this process and on disk, in
  ``$XDG_CACHE_HOME/ali-opt/flops.json`` (default ``~/.cache/ali-opt/flops.json``), keyed by
  a hash of everything that can change the count: model, width, loss, batch size,
  precision, data shape, device type, the whole optimizer config except ``lr``, the torch
  version and a fingerprint of the source of the models, the game and the optimizers (a code
  change measures again). The file is replaced atomically; a corrupt one is ignored with a
  warning and rewritten; one that cannot be written only warns.
"""
from __future__ import annotations

import copy
import functools
import hashlib
import json
import os
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

import optimizers

from ..runtime.atomic import write_atomically

CACHE_VERSION = 1
"""Bumped when the meaning of a cached entry changes; older entries are then measured again."""


@dataclass(frozen=True)
class StepCost:
    """FLOPs charged for one optimizer step.

    ``flops``: a step that spends ``grad_evals`` gradient evaluations (the counted one). For
    a scheme whose work varies from step to step (CGD), ``extra_flops`` / ``extra_evals`` is
    the cost of each evaluation beyond ``grad_evals`` (0 / 0 for every fixed-cost scheme,
    whose every step costs ``flops``).
    """

    flops: int
    grad_evals: int
    extra_flops: int = 0
    extra_evals: int = 0

    def __call__(self, grad_evals: int) -> int:
        """FLOPs of a step that spent ``grad_evals`` gradient evaluations."""
        if not self.extra_evals or grad_evals == self.grad_evals:
            return self.flops
        return self.flops + (grad_evals - self.grad_evals) * self.extra_flops // self.extra_evals

    def total(self, steps: int, grad_evals: int) -> int:
        """FLOPs of ``steps`` steps that spent ``grad_evals`` evaluations in all (for a
        checkpoint written before FLOPs were counted; exact for fixed-cost schemes and CGD)."""
        if not self.extra_evals:
            return steps * self.flops
        return steps * self.flops + (grad_evals - steps * self.grad_evals) * self.extra_flops // self.extra_evals


def count_flops(function: Callable[[], Any]) -> int:
    """The FLOPs ``FlopCounterMode`` counts while ``function()`` runs."""
    with FlopCounterMode(display=False) as counter:
        function()
    return int(counter.get_total_flops())


def _base_optimizer(optimizer):
    """The game optimizer under any wrappers (averaging, lookahead)."""
    while "inner" in vars(optimizer):
        optimizer = optimizer.inner
    return optimizer


def _devices(game: torch.nn.Module) -> list[int]:
    return sorted({p.device.index or 0 for p in game.parameters() if p.device.type == "cuda"})


def step_flops(game: torch.nn.Module, optimizer, sample: Callable[[], Any],
               prepare: Callable[[Any], None] = lambda base: None) -> tuple[int, int]:
    """(FLOPs, gradient evaluations) of one ``optimizer.step(sample)`` on ``game``, taken on deep
    copies of the two (copied together, so the copied optimizer drives the copied game) with
    the random streams restored afterwards; ``prepare`` may change the copied base optimizer
    (under any wrappers) first.

    ``sample`` is called by the copied step: give one that does not draw from the run's own
    generator (the count depends on the batch's shape, not its values). The copy's warnings are
    silenced."""
    with torch.random.fork_rng(devices=_devices(game)), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the copy's warnings (a forced solve stopping early) are not the run's
        _, copied = copy.deepcopy((game, optimizer))
        prepare(_base_optimizer(copied))
        before = copied.grad_evals
        flops = count_flops(lambda: copied.step(sample))
        evals = copied.grad_evals - before
    return flops, evals


def _forced_iterations(iterations: int) -> Callable[[Any], None]:
    """Make a copied CGD/ACGD optimizer run exactly ``iterations`` solver iterations: tolerances 0,
    and step sizes 1 so that the coupling term is not lost to rounding (with small steps the
    matrix :math:`I - \\eta_s\\eta_f J_{sf}J_{fs}` is the identity in float32 and the solve ends
    after one iteration at a zero residual)."""
    def prepare(base) -> None:
        base.cgd_max_iter, base.cgd_tol, base.cgd_atol = iterations, 0.0, 0.0
        base.rules = {player: rule.replace(lr=1.0) for player, rule in base.rules.items()}
    return prepare


def measure_step_cost(game: torch.nn.Module, optimizer, sample: Callable[[], Any]) -> StepCost:
    """The :class:`StepCost` of ``optimizer`` on ``game``, counted on copies (see :func:`step_flops`)."""
    if not hasattr(_base_optimizer(optimizer), "cgd_max_iter"):
        return StepCost(*step_flops(game, optimizer, sample))
    one, one_evals = step_flops(game, optimizer, sample, _forced_iterations(1))
    two, two_evals = step_flops(game, optimizer, sample, _forced_iterations(2))
    if two_evals == one_evals:  # still a zero residual after one iteration: charge each evaluation alike
        warnings.warn("could not price a conjugate-gradient iteration apart; charging CGD's evaluations alike",
                      stacklevel=2)
        return StepCost(one, one_evals, one, one_evals)
    return StepCost(one, one_evals, two - one, two_evals - one_evals)


# -- the cache ---------------------------------------------------------------------------

_MEMORY: dict[str, StepCost] = {}


def cache_path() -> Path:
    """``$XDG_CACHE_HOME/ali-opt/flops.json``, by default ``~/.cache/ali-opt/flops.json``."""
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "ali-opt" / "flops.json"


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """A hash of the source that decides what a step computes: the models, the game, BatchNorm
    handling and every optimizer."""
    digest = hashlib.sha256()
    ali_opt_folder = Path(__file__).parents[1]
    for package, patterns in ((ali_opt_folder, ("models/**/*.py", "ali.py", "game.py", "batchnorm.py", "ensemble.py")),
                              (Path(optimizers.__file__).parent, ("**/*.py",))):
        for path in sorted(path for pattern in patterns for path in package.glob(pattern)):
            digest.update(f"{package.name}/{path.relative_to(package)}".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def cost_key(config: dict, data_shape: tuple[int, ...], device: torch.device | str) -> tuple[str, dict]:
    """The cache key of a run's step cost (a hash) and what it was made of."""
    optimizer = optimizers.validate_config(config["optimizer"], ("d", "g"))
    fields = {
        "version": CACHE_VERSION, "model": config["model"], "width": config["width"], "loss": config["loss"],
        "batch_size": config["batch_size"], "precision": config["precision"], "data_shape": list(data_shape),
        "device": torch.device(device).type, "optimizer": {k: v for k, v in optimizer.items() if k != "lr"},
        "torch": torch.__version__, "code": code_fingerprint(),
    }
    text = json.dumps(fields, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24], fields


def _read_cache(path: Path) -> dict:
    if not path.is_file():
        return {}
    try:
        entries = json.loads(path.read_text())
        if not isinstance(entries, dict):
            raise ValueError("not a JSON object")
        return entries
    except (OSError, ValueError) as error:
        warnings.warn(f"ignoring the corrupt FLOPs cache {path} ({error}); it will be rewritten", stacklevel=3)
        return {}


def _entry_cost(entry) -> StepCost | None:
    try:
        cost = StepCost(**{key: entry[key] for key in ("flops", "grad_evals", "extra_flops", "extra_evals")})
    except (KeyError, TypeError):
        return None
    if not all(isinstance(value, int) and not isinstance(value, bool) and value >= 0 for value in asdict(cost).values()):
        return None
    return cost if cost.flops > 0 and cost.grad_evals > 0 else None


def _write_cache(path: Path, key: str, cost: StepCost, fields: dict) -> None:
    try:
        entries = _read_cache(path)  # read again: another process may have added entries meanwhile
        entries[key] = {**asdict(cost), "key": fields}
        write_atomically(path, lambda file: json.dump(entries, file, indent=1, sort_keys=True))
    except OSError as error:
        warnings.warn(f"could not write the FLOPs cache {path} ({error}); the cost is measured again next time",
                      stacklevel=3)


def run_step_cost(config: dict, game: torch.nn.Module, optimizer, sample: Callable[[], Any],
                  data_shape: tuple[int, ...]) -> StepCost:
    """The step cost of the run ``config`` (a training config): from this process's cache, else
    the disk cache, else measured with :func:`measure_step_cost` and stored in both."""
    device = next(game.parameters()).device
    key, fields = cost_key(config, data_shape, device)
    if key in _MEMORY:
        return _MEMORY[key]
    path = cache_path()
    cost = _entry_cost(_read_cache(path).get(key))
    if cost is None:
        cost = measure_step_cost(game, optimizer, sample)
        _write_cache(path, key, cost, fields)
    _MEMORY[key] = cost
    return cost
