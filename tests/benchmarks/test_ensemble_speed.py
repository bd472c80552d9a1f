"""The ensemble benchmark: both sides train the same members; it refuses to overwrite its JSON (no timing asserted)."""
from __future__ import annotations

import pytest
import torch

from benchmarks.ensemble_speed import TRAINING, main, run_side
from ali_opt.sweeps.mixture_ensembles import build_ensemble


@pytest.mark.parametrize("side", ["ensemble", "sequential"])
def test_each_side_trains_and_measures(side):
    found = run_side(side, members=2, warmup=0, steps=1, threads=1)
    assert found["seconds"] > 0 and found["peak_mib"] >= found["memory_before_mib"] > 0


def test_ensemble_members_start_as_the_sequential_runs():
    from ali_opt.data import load_dataset
    from ali_opt.models import build_models
    loop = build_ensemble(TRAINING, load_dataset("ring", root=None, heldout=0, seed=0), members=2)
    torch.manual_seed(1)
    second = build_models("mlp").decoder.state_dict()
    member = loop.ensemble.member_state(1)
    assert all(torch.equal(member[f"decoder.{name}"], value) for name, value in second.items())


def test_existing_json_is_not_overwritten(tmp_path, capsys):
    path = tmp_path / "mine.json"
    path.write_text("keep me")
    with pytest.raises(SystemExit) as stopped:
        main(["--json", str(path)])
    assert stopped.value.code == 2 and path.read_text() == "keep me"
    assert "--overwrite" in capsys.readouterr().err
