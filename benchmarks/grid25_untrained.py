"""The untrained baseline of ``benchmark=grid25``: its members at step 0, counted as the study counts trained ones.

    python -m benchmarks.grid25_untrained

Builds the 10 members exactly as ``python -m studies.ali_mixture with benchmark=grid25`` does
(:func:`ali_opt.sweeps.mixture_ensembles.build_ensemble`, seeds ``seed`` to ``seed + 9``) and
prints, per count, the mean over members, its 95% bootstrap interval and every member's value
(:func:`ali_opt.sweeps.mixture_ensembles.evaluate_members`: 10,000 samples each).
"""
from __future__ import annotations

import contextlib
import io
import statistics
import tempfile

from ali_opt.data import load_dataset
from ali_opt.records.statistics import bootstrap_interval
from ali_opt.sweeps.mixture_ensembles import build_ensemble, entries, evaluate_members


def main() -> None:
    from studies.ali_mixture import ex
    with tempfile.TemporaryDirectory() as output, contextlib.redirect_stdout(io.StringIO()):  # print_config's listing
        config = ex.run("print_config", config_updates={"benchmark": "grid25", "comparison": [{"name": "adam"}],
                                                        "output": output}, options={"--loglevel": "ERROR"}).config
    label, training = entries(config)[0]
    dataset = load_dataset("grid", root=None, heldout=config["data"]["heldout"], seed=config["seed"])
    members = evaluate_members(build_ensemble(training, dataset, config["members"]), dataset, "grid", label)
    for key in ("paper_modes", "strict_modes", "high_quality"):
        values = [member[key] for member in members]
        print(f"{key}: mean {statistics.fmean(values):.4g}, 95% interval {bootstrap_interval(values)}, "
              f"members {values}")


if __name__ == "__main__":
    main()
