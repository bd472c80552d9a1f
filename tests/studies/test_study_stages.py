"""The two stages of the step-size study: cells, seeds, bracketing rounds and their checks."""
from __future__ import annotations

import math
from dataclasses import dataclass

import pytest

from ali_opt.errors import ConfigError
from ali_opt.sweeps import stages
from ali_opt.records.selection import Rule
from ali_opt.sweeps.stages import (CONFIRMATION, SELECTION, SELECTION_EVAL_POINTS, StudyDesign, confirmation_cells,
                                   grown, initial_scales, run_selection, selection_cells)
from studies import extragradient_cifar10 as study
from tests.helpers.configs import study_config
from tests.helpers.synthetic_runs import synthetic_run

DESIGN_KEYS = {"selection_seeds": 2, "confirmation_seeds": 3, "confirmation_seed": 100, "bracketing": True,
               "bracket_factor": 4, "bracket_rounds": 2}


def study_keys(**updates) -> dict:
    return {"seed": 0, **DESIGN_KEYS, **updates}


@pytest.mark.parametrize("updates, message", [
    ({"confirmation_seeds": 1}, "confirmation_seeds=1 is not valid; stage two needs at least 2 seeds"),
    ({"selection_seeds": 0}, "selection_seeds=0 is not valid"),
    ({"confirmation_seed": 1}, "confirmation_seed=1 is not valid: confirmation seeds [1] are also selection seeds"),
    ({"bracket_factor": 1}, "bracket_factor=1 is not valid"),
    ({"bracket_factor": 0.5}, "bracket_factor=0.5 is not valid"),
    ({"bracket_rounds": -1}, "bracket_rounds=-1 is not valid"),
    ({"bracketing": "yes"}, "bracketing='yes' is not valid"),
])
def test_a_bad_design_key_gets_one_line(updates, message):
    with pytest.raises(ConfigError) as raised:
        StudyDesign.from_config(study_keys(**updates))
    assert str(raised.value).startswith(message), raised.value
    assert "\n" not in str(raised.value)


def test_confirmation_seeds_are_fresh():
    design = StudyDesign.from_config(study_keys(seed=5, confirmation_seed=0, confirmation_seeds=5))
    assert design.selection_seed_list(5) == [5, 6]
    assert design.confirmation_seed_list() == [0, 1, 2, 3, 4]  # below the selection seeds: disjoint, accepted
    with pytest.raises(ConfigError, match=r"confirmation seeds \[5\] are also selection seeds"):
        StudyDesign.from_config(study_keys(seed=5, confirmation_seed=1, confirmation_seeds=5))


def full_config(images, folder, **updates) -> dict:
    """The study's config with these updates, as Sacred fills it."""
    config = {**study_config(images, folder), "comparison": [{"name": "adam"}, {"name": "extra_adam", "resample": True}],
              "lr_scales": [1, 4], "budget_grad_evals": 8, "budget_flops": 0, "eval_points": [0, 0.5, 1.0],
              "primary": "recon_mse", "confirmation_seeds": 3, **updates}
    return study.ex.run("print_config", config_updates=config, options={"--loglevel": "ERROR"}).config


def test_stage_one_cells_are_evaluated_at_the_end_and_stage_two_on_fresh_seeds(images, tmp_path):
    config = full_config(images, tmp_path)
    design = StudyDesign.from_config(config)
    first = selection_cells(config, design, initial_scales(config))
    assert [cell.key for cell in first] == [f"selection/{label}/lr{scale}/seed{seed}" for label in ("adam", "extra_adam")
                                            for scale in (1, 4) for seed in (0, 1)]
    for cell in first:
        assert cell.config["eval_points"] == SELECTION_EVAL_POINTS == [0, 1.0]
        assert cell.config["sweep"]["stage"] == SELECTION
        assert not {"selection_seeds", "confirmation_seeds", "bracket_factor", "primary"} & set(cell.config)
    second = confirmation_cells(config, design, {"adam": 4.0, "extra_adam": None})
    assert [cell.key for cell in second] == [f"confirmation/adam/lr4/seed{seed}" for seed in (100, 101, 102)]
    assert {cell.config["seed"] for cell in second}.isdisjoint({cell.config["seed"] for cell in first})
    assert all(cell.config["eval_points"] == [0, 0.5, 1.0] and cell.config["sweep"]["stage"] == CONFIRMATION
               for cell in second)
    assert second[0].config["optimizer"]["lr"] == pytest.approx({"d": 4e-4, "g": 2e-3})


def test_grids_grow_by_the_extensions_each_scale_once():
    assert grown({"a": [1, 4], "b": [1]}, {"a": [0.25, 4], "b": []}) == {"a": [0.25, 1, 4], "b": [1]}


@dataclass
class FakeCell:
    config: dict


class FakeExecutor:
    """Stands in for the executor: a run's validation KID at ``scale`` is ``score(scale)`` (the
    untrained model's 0.5); a scale of ``fails_from`` or more diverges. Records each round."""

    def __init__(self, score, fails_from=math.inf):
        self.score, self.fails_from, self.rounds = score, fails_from, []

    def cells(self, config, design, scales):
        return [FakeCell({"sweep": {"entry": label, "lr_scale": scale}, "seed": seed})
                for label, grid in scales.items() for scale in grid for seed in design.selection_seed_list(0)]

    def run_stage(self, cells):
        self.rounds.append(sorted({cell.config["sweep"]["lr_scale"] for cell in cells}))
        return [self.run(cell.config["sweep"]["lr_scale"], cell.config["seed"]) for cell in cells]

    def run(self, scale, seed):
        diverged = scale >= self.fails_from
        curves = {"kid_valid": [0.5] if diverged else [0.5, self.score(scale)]}
        return synthetic_run("adam", scale, seed, curves, diverged_at=5 if diverged else None,
                             sweep={"entry": "adam", "lr_scale": scale, "stage": SELECTION})


def stage_one(monkeypatch, executor, **updates):
    config = {"comparison": [{"name": "adam"}], "lr_scales": [1, 8], "select_by": "kid_valid", "select_last": 1,
              "select_rule": "last", **study_keys(**updates)}
    monkeypatch.setattr(stages, "selection_cells", executor.cells)
    return run_selection(config, StudyDesign.from_config(config), executor.run_stage)


def test_an_edge_best_scale_extends_the_grid_until_the_best_is_interior(monkeypatch):
    """The best of [1, 8] is 1 (lower edge) and nothing failed: round one adds 1/4 and 32; the
    best is then interior, but nothing has failed yet, so round two adds 128, which diverges.
    A scale that ends worse than the untrained model (0.5) would count as failed: none does."""
    executor = FakeExecutor(score=lambda scale: 0.1 + 0.05 * abs(math.log2(scale)), fails_from=100)
    runs, grids, rule = stage_one(monkeypatch, executor)
    assert executor.rounds == [[1, 8], [0.25, 1, 8, 32], [0.25, 1, 8, 32, 128]]
    assert grids == {"adam": [0.25, 1, 8, 32, 128]}
    assert rule == Rule("kid_valid", 1, "last")
    assert len(runs) == 5 * 2


def test_a_failing_scale_above_and_an_interior_best_stop_the_extensions(monkeypatch):
    """8 diverges and 1 is the best, on the lower edge: only 1/4 is added; then 1 is interior
    with a failing scale above it, and nothing more is added, whatever the cap."""
    executor = FakeExecutor(score=lambda scale: {1: 0.3, 4: 0.2, 8: 0.25}.get(scale, 0.4), fails_from=8)
    _, grids, _ = stage_one(monkeypatch, executor, bracket_rounds=5)
    assert executor.rounds == [[1, 8], [0.25, 1, 8]]
    assert grids == {"adam": [0.25, 1, 8]}


def test_the_number_of_extensions_is_capped_and_a_fixed_grid_adds_none(monkeypatch):
    executor = FakeExecutor(score=lambda scale: 0.4 / scale)  # ever better upwards, never failing
    _, grids, _ = stage_one(monkeypatch, executor, bracket_rounds=1)
    assert grids == {"adam": [1, 8, 32]} and len(executor.rounds) == 2
    fixed = FakeExecutor(score=lambda scale: 0.4 / scale)
    _, grids, _ = stage_one(monkeypatch, fixed, bracketing=False)
    assert grids == {"adam": [1, 8]} and fixed.rounds == [[1, 8]]
