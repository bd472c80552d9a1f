"""The digit classifier's test accuracy and training time on MNIST (issue 23: at least 98%).

    python -m benchmarks.digit_classifier --data ../shared/data [--validation 1000] [--epochs 10]

Loads MNIST as a run does (``data.name=mnist``, all test images held out, the last
``--validation`` training images set aside), trains the classifier of
:mod:`ali_opt.metrics.digit_classifier` on the training split (no cache: always trained),
and prints the training time, the thread count (training always uses one torch thread),
the accuracy on every test image, and whether a second training gives bit-identical weights.
"""
from __future__ import annotations

import argparse
import dataclasses
import time

import torch

from ali_opt.data import load_dataset
from ali_opt.metrics.digit_classifier import DEFAULT_TRAINING, train_classifier
from ali_opt.metrics.digit_measures import recon_class_accuracy


def main() -> None:
    parse = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parse.add_argument("--data", required=True, help="data.root of MNIST (the folder holding mnist/)")
    parse.add_argument("--validation", type=int, default=1000, help="training images set aside (data.validation)")
    parse.add_argument("--heldout", type=int, default=2000, help="test images scored (data.heldout)")
    parse.add_argument("--epochs", type=float, default=DEFAULT_TRAINING.epochs)
    parse.add_argument("--repeat", action="store_true", help="train again and compare the weights")
    args = parse.parse_args()
    dataset = load_dataset("mnist", root=args.data, heldout=args.heldout, validation=args.validation, download=False)
    images = next(dataset.batches("train", len(dataset.train)))
    settings = dataclasses.replace(DEFAULT_TRAINING, epochs=args.epochs)
    start = time.perf_counter()
    classifier = train_classifier(images, dataset.labels["train"], settings)
    seconds = time.perf_counter() - start
    test = next(dataset.batches("heldout", len(dataset.heldout)))
    accuracy = recon_class_accuracy(classifier, test, dataset.labels["heldout"])  # the identity reconstruction
    print(f"{settings}\ntrained on {len(images)} images in {seconds:.1f} s on 1 torch thread "
          f"(torch {torch.__version__})\naccuracy on the {len(test)} test images: {accuracy:.4f}")
    if args.repeat:
        again = train_classifier(images, dataset.labels["train"], settings)
        same = all(torch.equal(a, b) for a, b in zip(classifier.state_dict().values(), again.state_dict().values()))
        print(f"a second training gives {'bit-identical' if same else 'DIFFERENT'} weights")


if __name__ == "__main__":
    main()
