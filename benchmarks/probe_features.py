"""Which encoder features the linear probe uses: the 64-d mean or the last hidden layers.

    python -m benchmarks.probe_features --data ../shared/data RUN_FOLDER...

For a freshly initialised encoder (seed 0) and the encoder of each run's checkpoint, fits
the probe (:mod:`ali_opt.metrics.probe`) on the first 2,000 training images for each feature kind
and L2 weight, and prints the accuracy on the validation split (the last 1,000 training
images: the choice is made without the test images) and the seconds it took. Then times
the probe at quarter width. One torch thread.
"""
from __future__ import annotations

import argparse
import time

import torch

from ali_opt.runtime.checkpoint import load_checkpoint
from ali_opt.data import load_dataset
from ali_opt.metrics.reconstruction import evaluation_mode
from ali_opt.models import build_models
from ali_opt.metrics.probe import FEATURES, encoder_features, fit_and_score

L2_WEIGHTS = (1e-3, 1e-2, 1e-1)


def probe(encoder, dataset, features: str, l2: float, train_images: int) -> tuple[float, float]:
    """(validation accuracy, seconds) of the probe on ``encoder``'s ``features``."""
    start = time.perf_counter()
    with torch.no_grad():
        train = torch.cat([encoder_features(encoder, x, features) for x in dataset.batches("train", 250, train_images)])
        valid = torch.cat([encoder_features(encoder, x, features) for x in dataset.batches("validation", 250)])
    accuracy = fit_and_score(train, dataset.labels["train"][:train_images], valid, dataset.labels["validation"], l2)
    return accuracy, time.perf_counter() - start


def encoders(folders, pixel_mean, width):
    model = build_models("cifar32", width=width, pixel_mean=pixel_mean)
    yield f"initialised, width {width:g}", model.encoder
    for folder in folders:
        checkpoint = load_checkpoint(folder, key="run")
        config = checkpoint["config"]
        model = build_models(config["model"], width=config["width"], pixel_mean=pixel_mean)
        model.encoder.load_state_dict({name.removeprefix("encoder."): value for name, value in checkpoint["game"].items()
                                       if name.startswith("encoder.")})
        lr = config["optimizer"]["lr"]
        yield f"{folder}: {config['optimizer']['name']} lr {lr} width {config['width']:g}, step {checkpoint['step']}", \
            model.encoder


def main() -> None:
    parse = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parse.add_argument("runs", nargs="*", help="run folders holding a checkpoint.pt")
    parse.add_argument("--data", required=True, help="data.root of CIFAR-10")
    parse.add_argument("--train-images", type=int, default=2000)
    args = parse.parse_args()
    torch.set_num_threads(1)
    dataset = load_dataset("cifar10", root=args.data, heldout=1000, validation=1000)
    torch.manual_seed(0)
    for name, encoder in encoders(args.runs, dataset.pixel_mean, 0.125):
        with evaluation_mode(encoder):
            for features in FEATURES:
                for l2 in L2_WEIGHTS:
                    accuracy, seconds = probe(encoder, dataset, features, l2, args.train_images)
                    print(f"{name} | {features} | l2 {l2:g} | validation accuracy {accuracy:.3f} | {seconds:.1f} s",
                          flush=True)
    torch.manual_seed(0)
    encoder = build_models("cifar32", width=0.25, pixel_mean=dataset.pixel_mean).encoder
    with evaluation_mode(encoder):
        for features in FEATURES:
            accuracy, seconds = probe(encoder, dataset, features, 1e-2, args.train_images)
            print(f"timing, initialised width 0.25 | {features} | l2 0.01 | {accuracy:.3f} | {seconds:.1f} s", flush=True)


if __name__ == "__main__":
    main()
