"""The step benchmark runs end to end on a tiny model and writes its figures as JSON (no timing asserted)."""
from __future__ import annotations

import json

import pytest

from benchmarks.bench_step import OPTIMIZER_NAMES, main


def test_tiny_benchmark_writes_every_figure(tmp_path, capsys):
    path = tmp_path / "bench.json"
    main(["--widths", "0.125", "--precisions", "fp32", "--batch", "4", "--warmup", "1", "--repeats", "1",
          "--steps", "1", "--trace-steps", "0", "--json", str(path)])
    report = json.loads(path.read_text())
    (result,) = report["results"]
    assert set(result["seconds_per_step"]) == {"reference", "draw batch", *OPTIMIZER_NAMES}
    assert all(seconds > 0 for seconds in result["seconds_per_step"].values())
    assert set(result["ratios"]) == {"adam", "extra_adam", "past_extra_adam", "optimistic_adam"}
    assert result["gflop_per_step"] > 0
    assert all(memory["peak_mib"] >= memory["before_mib"] for memory in result["peak_memory_mib"].values())
    assert "adam/reference" in capsys.readouterr().out


def test_existing_json_is_not_overwritten(tmp_path, capsys):
    path = tmp_path / "mine.json"
    path.write_text("keep me")
    with pytest.raises(SystemExit) as stopped:
        main(["--json", str(path)])
    assert stopped.value.code == 2
    assert path.read_text() == "keep me"
    assert "--overwrite" in capsys.readouterr().err
