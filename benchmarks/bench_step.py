"""What one training step costs: every optimizer against a hand-written PyTorch ALI step.

    python -m benchmarks.bench_step                       # cifar32, widths 1 and 0.25, batch 100, fp32 and bf16
    python -m benchmarks.bench_step --widths 0.25 --precisions fp32 --repeats 5 --json bench.json

In one process, on the same model, batch and device, each variant runs ``--warmup``
untimed steps and then ``--repeats`` rounds of ``--steps`` timed steps, the variants
interleaved round by round so that machine noise hits them alike. Reported: the median
seconds per step, ratios (toolkit ``adam`` over the hand-written reference; every other
optimizer over ``adam``), the share of a step spent drawing the batch, the step's FLOPs
(``torch.utils.flop_counter``) as GFLOP/s beside the measured matmul peak, and the peak
memory of a step per optimizer (CPU: peak RSS growth; CUDA: max allocated).
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

import ali_opt  # noqa: F401
from ali_opt.ali import ALIGame
from ali_opt.runtime.allocator import retain_freed_memory
from ali_opt.data import Dataset
from ali_opt.runtime.devices import resolve_device, synchronize
from ali_opt.models import build_models
from ali_opt.training import AUTOCAST_DTYPES as PRECISIONS
from optimizers import build_optimizer

OPTIMIZER_NAMES = ("adam", "alt_adam", "extra_adam", "past_extra_adam", "optimistic_adam")
TARGETS = {"adam": ("reference", 1.03), "extra_adam": ("adam", 2.05), "past_extra_adam": ("adam", 1.05),
           "optimistic_adam": ("adam", 1.05)}


def reference_step(models, optimizers: tuple[torch.optim.Adam, torch.optim.Adam], x: torch.Tensor,
                   autocast_dtype: torch.dtype | None) -> None:
    """ALI's simultaneous Adam step written out by hand: plain autograd and ``torch.optim.Adam``."""
    encoder, decoder, discriminator = models.encoder, models.decoder, models.discriminator
    with torch.autocast(x.device.type, dtype=autocast_dtype or torch.float32, enabled=autocast_dtype is not None):
        mean, log_std = encoder(x)
        encoded = mean + torch.randn_like(mean) * log_std.exp()
        prior = torch.randn_like(mean)
        decoded = decoder(prior)
        scores = discriminator(torch.cat([x.to(decoded.dtype), decoded]), torch.cat([encoded, prior])).float()
    on_real, on_fake = scores.chunk(2)
    discriminator_loss = F.softplus(-on_real).mean() + F.softplus(on_fake).mean()
    generator_loss = F.softplus(on_real).mean() + F.softplus(-on_fake).mean()
    d_params = list(discriminator.parameters())
    g_params = [*encoder.parameters(), *decoder.parameters()]
    for p, g in zip(d_params, torch.autograd.grad(discriminator_loss, d_params, retain_graph=True)):
        p.grad = g
    for p, g in zip(g_params, torch.autograd.grad(generator_loss, g_params)):
        p.grad = g
    for optimizer in optimizers:
        optimizer.step()


def resident_mib() -> float:
    """Current resident set size of this process (Linux), MiB."""
    return _proc_status("VmRSS")


def _proc_status(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def matmul_peak(device: torch.device, dtype: torch.dtype, size: int = 2048, repeats: int = 5) -> float:
    """Best GFLOP/s of a square matmul: the machine's practical arithmetic ceiling."""
    a, b = (torch.randn(size, size, device=device, dtype=dtype) for _ in range(2))
    best = float("inf")
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        a @ b
        synchronize(device)
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def build_variants(width: float, batch: int, precision: str, device: torch.device, channels_last: bool,
                   names: tuple[str, ...] = ("reference", *OPTIMIZER_NAMES)):
    """The variants ``names`` (and batch drawing): each a fresh model on the same seed and a
    function doing one step; also the last game built (or None)."""
    data = torch.randint(0, 256, (2000, 3, 32, 32), dtype=torch.uint8, device=device)
    dataset = Dataset(name="bench", train=data, heldout=data[:0])
    generator = torch.Generator(device).manual_seed(0)
    autocast_dtype = PRECISIONS[precision]
    memory_format = torch.channels_last if channels_last else torch.contiguous_format

    def sample() -> torch.Tensor:
        return dataset.sample(batch, generator).contiguous(memory_format=memory_format)

    def models():
        torch.manual_seed(0)
        built = build_models("cifar32", width=width, pixel_mean=0.45)
        for module in (built.encoder, built.decoder, built.discriminator):
            module.to(device, memory_format=memory_format)
        return built

    variants: dict[str, Callable[[], None]] = {}
    game = None
    if "reference" in names:
        reference_models = models()
        reference_optimizers = tuple(torch.optim.Adam(params, lr=1e-4, betas=(0.5, 0.999), foreach=True) for params in (
            reference_models.discriminator.parameters(),
            [*reference_models.encoder.parameters(), *reference_models.decoder.parameters()]))
        variants["reference"] = lambda: reference_step(reference_models, reference_optimizers, sample(), autocast_dtype)
    for name in (n for n in names if n != "reference"):
        built = models()
        game = ALIGame(built.encoder, built.decoder, built.discriminator, built.latent_shape, autocast_dtype=autocast_dtype)
        optimizer = build_optimizer(game, {"name": name, "lr": 1e-4, "betas": (0.5, 0.999)})
        draw = lambda game=game: game.draw_batch(sample(), generator)  # noqa: E731 - data, noise, dropout seed
        variants[name] = lambda optimizer=optimizer, draw=draw: optimizer.step(draw)
    variants["draw batch"] = (lambda: game.draw_batch(sample(), generator)) if game is not None else sample
    return variants, game


def time_variants(variants: dict, device: torch.device, warmup: int, repeats: int, steps: int) -> dict[str, float]:
    for step in variants.values():
        for _ in range(warmup):
            step()
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(repeats):
        for name, step in variants.items():
            synchronize(device)
            start = time.perf_counter()
            for _ in range(steps):
                step()
            synchronize(device)
            times[name].append((time.perf_counter() - start) / steps)
    return {name: statistics.median(values) for name, values in times.items()}


def memory_probe(name: str, width: float, batch: int, precision: str, device_name: str, steps: int,
                 every: int, allocator: str) -> dict:
    """In a fresh process: memory before the first step of ``name`` and its peak over ``steps``
    steps (CPU: resident set, VmHWM; CUDA: allocated), plus a trace every ``every`` steps."""
    device = resolve_device(device_name)
    if allocator == "retain" and device.type == "cpu":
        retain_freed_memory()
    variants, _ = build_variants(width, batch, precision, device, channels_last=False, names=(name,))
    step = variants[name]
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    before = torch.cuda.memory_allocated(device) / 2**20 if device.type == "cuda" else resident_mib()
    trace = []
    for index in range(1, steps + 1):
        step()
        if index % every == 0 or index == steps:
            synchronize(device)
            trace.append((index, torch.cuda.memory_allocated(device) / 2**20 if device.type == "cuda" else resident_mib()))
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else _proc_status("VmHWM")
    return {"before_mib": before, "peak_mib": peak, "trace": trace}


def in_fresh_process(function, *args):
    """``function(*args)`` run in a new interpreter, so that its memory figures are its own."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(function, args)


def step_flops(game: ALIGame, batch: int, device: torch.device) -> int:
    """FLOPs of one simultaneous step's forward and backward passes."""
    x = torch.rand(batch, 3, 32, 32, device=device)
    optimizer = build_optimizer(game, {"name": "adam"})
    with FlopCounterMode(display=False) as counter:
        optimizer.step(lambda: x)
    return counter.get_total_flops()


def benchmark(width: float, batch: int, precision: str, device: torch.device, args) -> dict:
    variants, game = build_variants(width, batch, precision, device, args.channels_last)
    seconds = time_variants(variants, device, args.warmup, args.repeats, args.steps)
    flops = step_flops(game, batch, device)
    result = {
        "model": "cifar32", "width": width, "batch": batch, "precision": precision, "device": str(device),
        "channels_last": args.channels_last, "allocator": args.allocator, "seconds_per_step": seconds,
        "ratios": {name: seconds[name] / seconds[base] for name, (base, _) in TARGETS.items()},
        "ratio_alt_adam": seconds["alt_adam"] / seconds["adam"],
        "draw_batch_share": seconds["draw batch"] / seconds["adam"],
        "gflop_per_step": flops / 1e9, "gflops": flops / 1e9 / seconds["adam"],
        "peak_memory_mib": {name: in_fresh_process(memory_probe, name, width, batch, precision, str(device), 3, 1,
                                                 args.allocator)
                            for name in ("reference", *OPTIMIZER_NAMES)},
    }
    return result


def print_table(results: list[dict], peaks: dict[str, float]) -> None:
    print("matmul peak: " + ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in peaks.items()))
    header = "| width | precision | reference s | adam s | adam/ref | extra/adam | past_extra/adam | optimistic/adam | alt/adam | batch draw | GFLOP/step | GFLOP/s |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for r in results:
        s, q = r["seconds_per_step"], r["ratios"]
        print(f"| {r['width']} | {r['precision']} | {s['reference']:.3f} | {s['adam']:.3f} | {q['adam']:.3f} | "
              f"{q['extra_adam']:.3f} | {q['past_extra_adam']:.3f} | {q['optimistic_adam']:.3f} | "
              f"{r['ratio_alt_adam']:.3f} | {100 * r['draw_batch_share']:.2f}% | {r['gflop_per_step']:.1f} | {r['gflops']:.0f} |")
    print("\npeak memory of 3 steps above the memory before them (MiB; CPU: resident set):")
    for r in results:
        print(f"  width {r['width']} {r['precision']}: " +
              ", ".join(f"{k} +{v['peak_mib'] - v['before_mib']:.0f}" for k, v in r["peak_memory_mib"].items()))
    for r in results:
        for name, (base, target) in TARGETS.items():
            verdict = "ok" if r["ratios"][name] <= target else "OVER TARGET"
            print(f"  width {r['width']} {r['precision']}: {name}/{base} = {r['ratios'][name]:.3f} "
                  f"(target <= {target}) {verdict}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--widths", default="1,0.25", help="comma-separated model widths")
    parser.add_argument("--precisions", default="fp32,bf16", help="comma-separated: fp32, bf16")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--steps", type=int, default=3, help="timed steps per repeat")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--allocator", choices=("retain", "glibc"), default="retain",
                        help="retain: keep freed memory in the process, as training does on a CPU; glibc: its defaults")
    parser.add_argument("--trace-steps", type=int, default=2000,
                        help="steps of the memory trace (adam, extra_adam; smallest width, first precision); 0 skips it")
    parser.add_argument("--json", type=Path, help="also write the results here as JSON")
    parser.add_argument("--overwrite", action="store_true", help="let --json replace an existing file")
    args = parser.parse_args(argv)
    if args.json and args.json.exists() and not args.overwrite:
        parser.error(f"--json {args.json} exists; give another path, or --overwrite to replace it")
    device = resolve_device(args.device)
    if args.allocator == "retain" and device.type == "cpu":
        retain_freed_memory()
    precisions = args.precisions.split(",")
    for precision in precisions:
        if precision not in PRECISIONS:
            parser.error(f"--precisions: {precision!r} is not one of {', '.join(PRECISIONS)}")
    peaks = {p: matmul_peak(device, PRECISIONS[p] or torch.float32) for p in precisions}
    results = [benchmark(float(width), args.batch, precision, device, args)
               for width in args.widths.split(",") for precision in precisions]
    print_table(results, peaks)
    traces = {}
    if args.trace_steps > 0:
        width = min(float(w) for w in args.widths.split(","))
        print(f"\nmemory over {args.trace_steps} steps (width {width}, {precisions[0]}; MiB every 100 steps):")
        for name in ("adam", "extra_adam"):
            traces[name] = in_fresh_process(memory_probe, name, width, args.batch, precisions[0], str(device),
                                            args.trace_steps, 100, args.allocator)["trace"]
            second_half = [mib for _, mib in traces[name][len(traces[name]) // 2:]]
            print(f"  {name}: " + " ".join(f"{mib:.0f}" for _, mib in traces[name]) +
                  f"  (second half: min {min(second_half):.0f}, max {max(second_half):.0f})")
    if args.json:
        args.json.write_text(json.dumps({"matmul_peak_gflops": peaks, "torch": torch.__version__,
                                         "threads": torch.get_num_threads(), "results": results,
                                         "memory_traces": traces}, indent=2))


if __name__ == "__main__":
    main()
