"""The two-stage study's report on a synthetic study with known values
(:mod:`tests.helpers.study_runs`): the primary at its last evaluation, paired pairs, the
default margin, metric noise by hand, brackets and largest stable scales, the tables."""
from __future__ import annotations

import csv
import dataclasses
import math

import numpy as np
import pytest

from ali_opt.errors import ConfigError
from ali_opt.records.study_report import last_evaluation, study_report, write_study_report
from tests.helpers.study_runs import GRIDS, LAST, RULE, SELECTED, SPREAD, noise_draws, study_cells
from tests.helpers.synthetic_runs import synthetic_run


@pytest.fixture(scope="module")
def cells():
    return study_cells()


@pytest.fixture(scope="module")
def report(cells):
    selection, confirmation = cells
    return study_report(selection, GRIDS, SELECTED, confirmation, RULE, "kid", noise_draws=noise_draws())


def test_the_primary_is_read_at_its_last_evaluation_not_averaged(report):
    # The last two evaluations average to adam 0.15 < extra_adam 0.20; the last alone reads the other way round.
    assert report.outcomes["adam"]["kid"].mean == pytest.approx(0.20 + np.mean(SPREAD))
    assert report.outcomes["extra_adam"]["kid"].mean == pytest.approx(float(np.mean(LAST["extra_adam"])))
    verdicts = {(pair.a, pair.b): pair.verdict for pair in report.comparisons}
    assert verdicts[("adam", "extra_adam")] == "extra_adam better"
    assert verdicts[("alt_adam", "extra_adam")] == "extra_adam better"
    # the t interval: mean +- t_{7, 0.975} sd / sqrt(8), t_{7, 0.975} = 2.364624
    interval, half = report.outcomes["adam"]["kid"], 2.364624 * np.std(SPREAD, ddof=1) / math.sqrt(8)
    assert (interval.low, interval.high) == pytest.approx((interval.mean - half, interval.mean + half), abs=1e-6)


def test_pairs_are_paired_when_the_seeds_match_and_unpaired_otherwise(cells, report):
    pair = next(pair for pair in report.comparisons if (pair.a, pair.b) == ("adam", "extra_adam"))
    assert pair.paired and pair.n_a == pair.n_b == 8
    assert pair.p == pair.min_p == 2 / 2 ** 8  # every per-seed difference is on the same side
    assert pair.difference == pytest.approx(0.05) and pair.difference_low < 0.05 < pair.difference_high
    selection, confirmation = cells
    shifted = [dataclasses.replace(run, config={**run.config, "seed": run.seed + 50})
               for run in confirmation["extra_adam"][16.0]]
    unpaired = study_report(selection, GRIDS, SELECTED, {**confirmation, "extra_adam": {16.0: shifted}}, RULE, "kid")
    pair = next(pair for pair in unpaired.comparisons if (pair.a, pair.b) == ("adam", "extra_adam"))
    assert not pair.paired and pair.min_p == pytest.approx(2 / math.comb(16, 8))


def test_the_default_margin_is_a_tenth_of_the_untrained_to_floor_range(cells, report):
    assert (report.baselines["kid"]["untrained"], report.baselines["kid"]["floor"]) == (0.5, 0.001)
    assert report.margin == pytest.approx(0.1 * (0.5 - 0.001)) and not report.margin_given
    assert {pair.margin for pair in report.comparisons} == {report.margin}
    assert report.comparisons[0].verdict == f"equivalent within ±{report.margin:.3g}"  # adam vs alt_adam
    selection, confirmation = cells
    given = study_report(selection, GRIDS, SELECTED, confirmation, RULE, "kid", equivalence_margin=0.001)
    assert given.margin == 0.001 and given.margin_given
    assert given.comparisons[0].verdict == "inconclusive at 8 seeds"  # the +-0.002 interval is not within 0.001


def test_metric_noise_and_seed_spread_by_hand(report):
    # adam: seed i's draws are v, v + a_i, v - a_i with a_i = 0.001 (i + 1): variance a_i^2, mean 1e-6 * 204 / 8
    adam = report.noise["adam"]
    assert adam.metric_noise_sd == pytest.approx(math.sqrt(204e-6 / 8))
    mean = sum(SPREAD) / 8
    assert adam.seed_sd == pytest.approx(math.sqrt(sum((value - mean) ** 2 for value in SPREAD) / 7))
    assert adam.ratio == pytest.approx(adam.metric_noise_sd / adam.seed_sd)
    assert report.noise["extra_adam"].metric_noise_sd == pytest.approx(0.002)
    # degraded allows twice the sd pooled over all 24 seeds: 2 sqrt((204e-6 + 16 * 4e-6) / 24)
    assert report.stability_noise == pytest.approx(2 * math.sqrt((204e-6 + 64e-6) / 24))


def test_no_noise_draws_allow_no_noise(cells):
    selection, confirmation = cells
    assert study_report(selection, GRIDS, SELECTED, confirmation, RULE, "kid").stability_noise == 0.0


def test_brackets_largest_stable_scales_and_stage_one_stability(report):
    assert report.brackets == {"adam": "interior", "alt_adam": "lower edge", "extra_adam": "upper edge"}
    assert {entry: str(scale) for entry, scale in report.largest_stable.items()} == \
        {"adam": "4", "alt_adam": "≥ 4", "extra_adam": "≥ 16"}
    adam = report.stability["adam"]
    assert [adam[scale].failure_rate for scale in (1.0, 4.0, 16.0)] == [0.0, 0.0, 0.5]  # seed 0 diverged at 16
    assert report.stability["extra_adam"][1.0].failure_rate == 0.5  # seed 1 ended worse than untrained
    # the gap 0.1 +- 0.05 alternates; the second half of the budget holds steps 30 and 40: 0.05 and 0.15, sd 0.05
    assert adam[1.0].loss_oscillation == pytest.approx(0.05)
    assert report.scores["adam"][1.0] == pytest.approx(0.30) and report.scores["adam"][4.0] == pytest.approx(0.20)
    assert math.isnan(report.scores["adam"][16.0])  # a seed diverged: the scale cannot be selected
    # stage two: adam's last KID (0.20) is worse than its best (0.10) by more than the noise: every seed degraded
    assert report.failure_rates == {"adam": 1.0, "alt_adam": 1.0, "extra_adam": 0.0}


def test_the_tables_have_their_columns_and_say_what_the_seeds_allow(report, tmp_path):
    written = write_study_report(report, tmp_path)
    assert [path.name for path in written] == ["summary.md", "summary.csv", "stability.csv", "pairwise.csv"]
    summary = list(csv.DictReader((tmp_path / "summary.csv").open()))
    assert list(summary[0]) == [
        "optimizer", "selected_scale", "bracket", "largest_stable_scale", "selection_seeds", "confirmation_seeds",
        "failure_rate", "kid", "kid_low", "kid_high", "kid_untrained", "kid_floor", "fid", "fid_low", "fid_high",
        "coverage", "coverage_low", "coverage_high", "metric_noise_sd", "seed_sd", "noise_ratio"]
    assert [(row["optimizer"], row["bracket"], row["largest_stable_scale"], row["selection_seeds"],
             row["confirmation_seeds"]) for row in summary] == [("adam", "interior", "4", "2", "8"),
                                                                ("alt_adam", "lower edge", "≥ 4", "2", "8"),
                                                                ("extra_adam", "upper edge", "≥ 16", "2", "8")]
    stability = list(csv.DictReader((tmp_path / "stability.csv").open()))
    assert list(stability[0]) == ["optimizer", "scale", "seeds", "failure_rate", "loss_oscillation",
                                  "grad_norm_growth", "score"]
    assert [(row["scale"], row["failure_rate"], row["score"]) for row in stability if row["optimizer"] == "adam"] == \
        [("1.0", "0.0", "0.3"), ("4.0", "0.0", "0.2"), ("16.0", "0.5", "")]  # 16 cannot be selected: no score
    pairs = list(csv.DictReader((tmp_path / "pairwise.csv").open()))
    assert {"optimizer_a", "optimizer_b", "seeds_a", "seeds_b", "paired", "mean_a", "mean_b", "difference",
            "difference_low", "difference_high", "p", "p_holm", "min_p", "p_equivalence", "equivalence_margin",
            "min_detectable_difference", "verdict"} <= set(pairs[0])
    markdown = (tmp_path / "summary.md").read_text()
    assert "consistent across every seed" not in markdown
    assert "mean over seeds of kid_valid, the last evaluation, on the validation images" in markdown
    assert "2 / 2^8 = 0.00781" in markdown and "0.05 / 3 = 0.0167" in markdown and "4 / 2^8 = 0.0156" in markdown


def test_four_seeds_cannot_separate_and_the_summary_says_so(cells, tmp_path):
    selection, confirmation = cells
    fewer = {entry: {scale: runs[:4] for scale, runs in by_scale.items()} for entry, by_scale in confirmation.items()}
    report = study_report(selection, GRIDS, SELECTED, fewer, RULE, "kid")
    pair = next(pair for pair in report.comparisons if (pair.a, pair.b) == ("adam", "extra_adam"))
    assert pair.verdict == "inconclusive at 4 seeds" and math.isinf(pair.min_detectable_difference)
    write_study_report(report, tmp_path)
    markdown = (tmp_path / "summary.md").read_text()
    assert "2 / 2^4 = 0.125, not below that level: no pair can separate" in markdown
    assert "from 7 seeds" in markdown  # 2 / 2^7 = 0.0156 < 0.0167
    assert "adam vs extra_adam is inconclusive, and no difference, however large" in markdown


def test_a_run_that_diverged_has_no_last_evaluation():
    run = synthetic_run("adam", 1, 0, {"kid": [0.5, 0.2, 0.1]}, diverged_at=25)
    assert math.isnan(last_evaluation(run, "kid"))
    assert last_evaluation(synthetic_run("adam", 1, 0, {"kid": [0.5, 0.2, 0.1]}), "kid") == 0.1


@pytest.mark.parametrize("primary, message", [
    ("density", "primary='density' is not valid; give a test outcome with a direction"),
    ("kid_valid", "primary='kid_valid' is not valid"),
    ("probe_accuracy", "primary='probe_accuracy' is not logged by the runs of stage two; they log: coverage, fid, kid"),
])
def test_a_primary_without_a_direction_or_not_logged_is_one_clear_line(cells, primary, message):
    selection, confirmation = cells
    with pytest.raises(ConfigError, match="^" + message.replace("(", r"\(").replace(")", r"\)")) as raised:
        study_report(selection, GRIDS, SELECTED, confirmation, RULE, primary)
    assert "\n" not in str(raised.value)
