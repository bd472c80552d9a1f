"""Which checkpoints a run may continue: the trajectory keys must agree, the optimizer as it is built."""
from __future__ import annotations

import pytest

from ali_opt.errors import ConfigError
from ali_opt.training import check_resumable
from optimizers import DEFAULTS

PLAYERS = ("d", "g")


def config(**optimizer) -> dict:
    return {"model": "cifar32", "width": 0.25, "loss": "minimax", "data": {"name": "cifar10"}, "batch_size": 64,
            "precision": "fp32", "seed": 0, "resume": "runs/1", "optimizer": {**DEFAULTS, **optimizer}}


def test_keys_the_named_optimizer_does_not_take_or_added_since_do_not_matter():
    saved = config(name="adam", gamma=5.0)
    del saved["optimizer"]["acgd_eps"]  # a checkpoint written before acgd existed
    check_resumable(saved, config(name="adam"), PLAYERS)
    check_resumable(config(name="consensus", gamma=10.0), config(name="consensus", gamma="default"), PLAYERS)
    check_resumable(config(betas=[0.5, 0.999]), config(betas=(0.5, 0.999)), PLAYERS)  # as JSON gives it back


@pytest.mark.parametrize("saved, resumed", [
    (config(name="adam"), config(name="extra_adam")),
    (config(name="consensus", gamma=10.0), config(name="consensus", gamma=5.0)),
    (config(lr=1e-4), config(lr={"d": 1e-4, "g": 5e-4})),
])
def test_an_option_the_optimizer_takes_must_agree(saved, resumed):
    with pytest.raises(ConfigError, match=r"^resume='runs/1': the checkpoint was trained with optimizer=\{'name': "):
        check_resumable(saved, resumed, PLAYERS)


def test_a_model_key_must_agree():
    with pytest.raises(ConfigError, match=r"the checkpoint was trained with width=0.25 but this run has width=0.5"):
        check_resumable(config(), {**config(), "width": 0.5}, PLAYERS)
