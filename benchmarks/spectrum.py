"""What the game's spectrum costs: k eigenvalues of the ALI game's Jacobian, and one Jacobian product.

    python -m benchmarks.spectrum --data-root ../shared/data               # cifar32, width 0.25, batch 100, k 6, 2 threads
    python -m benchmarks.spectrum --width 0.125 --batch 32 --k 4 --threads 1 --json spectrum.json

On one model, batch and device, it reports (median of ``--repeats`` after one warm-up each):
one gradient evaluation (a forward pass and each player's backward pass), one product
:math:`J^\\top u` by double backward through the kept gradient graph (what
:func:`ali_opt.spectrum.game_eigenvalues` uses), one product :math:`Jv` by ``torch.func.jvp``
over ``torch.func.grad`` (forward-over-reverse), and then the whole computation of the ``k``
eigenvalues of largest magnitude (ARPACK, ``tol``) with its time and its number of products.
The batch is CIFAR-10 images from ``--data-root`` (random images when none is given, said in the output).
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

import ali_opt  # noqa: F401
from ali_opt.ali import ALIGame
from ali_opt.data import load_dataset
from ali_opt.models import build_models
from ali_opt.spectrum import _frozen, _functional_field, _named_parameters, game_eigenvalues
from ali_opt.runtime.threads import torch_threads
from optimizers.field import GameField


def timed(function, repeats: int) -> float:
    """Median seconds of ``function()`` over ``repeats`` calls, after one untimed call."""
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None) -> dict:
    parse = argparse.ArgumentParser(prog="python -m benchmarks.spectrum", description=__doc__.split("\n\n")[0])
    parse.add_argument("--width", type=float, default=0.25)
    parse.add_argument("--batch", type=int, default=100)
    parse.add_argument("--k", type=int, default=6)
    parse.add_argument("--tol", type=float, default=0.0, help="ARPACK's relative accuracy (0: machine precision)")
    parse.add_argument("--threads", type=int, default=2)
    parse.add_argument("--repeats", type=int, default=3)
    parse.add_argument("--data-root", help="folder holding cifar-10-batches-py (default: random images)")
    parse.add_argument("--json", type=Path, help="also write the numbers here (refuses to overwrite)")
    args = parse.parse_args(argv)
    if args.json and args.json.exists():
        parse.error(f"--json {args.json} exists; give a new file")
    with torch_threads(args.threads):
        results = measure(args)
    for name, value in results.items():
        print(f"{name}: {value}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return results


def measure(args) -> dict:
    torch.manual_seed(0)
    models = build_models("cifar32", width=args.width)
    game = ALIGame(models.encoder, models.decoder, models.discriminator, models.latent_shape)
    if args.data_root:
        dataset = load_dataset("cifar10", root=args.data_root, heldout=0, download=False)
        batch, data = dataset.sample(args.batch, torch.Generator().manual_seed(0)), "CIFAR-10"
    else:
        batch, data = torch.rand(args.batch, 3, 32, 32, generator=torch.Generator().manual_seed(0)), "random images"
    params = {player: list(named.values()) for player, named in game.player_parameters().items()}

    def gradient_evaluation():
        output = game(batch)
        for index, player in enumerate(params):
            torch.autograd.grad(output.losses[player], params[player], retain_graph=index == 0)

    with _frozen(game, 0) as reseed:
        reseed()
        start = time.perf_counter()
        field = GameField(game, params, batch)
        field_seconds = time.perf_counter() - start
        vjp_seconds = timed(lambda: field.transpose_product(field.field), args.repeats)
        del field
        function, primal = _functional_field(game, batch, reseed), _named_parameters(game)
        tangent = {name: torch.randn_like(p) for name, p in primal.items()}
        jvp_seconds = timed(lambda: torch.func.jvp(function, (primal,), (tangent,)), args.repeats)
        gradient_seconds = timed(gradient_evaluation, args.repeats)
    start = time.perf_counter()
    eigenvalues = game_eigenvalues(game, batch, k=args.k, tol=args.tol)
    eigen_seconds = time.perf_counter() - start
    return {
        "model": f"cifar32 width {args.width:g}", "batch": f"{args.batch} ({data})", "threads": args.threads,
        "parameters": sum(p.numel() for p in game.parameters()),
        "gradient evaluation s": round(gradient_seconds, 4),
        "field with kept graph s (once)": round(field_seconds, 4),
        "J^T u by double backward s": round(vjp_seconds, 4),
        "J v by torch.func.jvp s": round(jvp_seconds, 4),
        "double-backward product / gradient evaluation": round(vjp_seconds / gradient_seconds, 3),
        f"k={args.k} eigenvalues (LM, tol={args.tol:g}) s": round(eigen_seconds, 2),
        "Jacobian products": eigenvalues.products,
        "eigenvalues": [f"{value:.6g}" for value in eigenvalues],
    }


if __name__ == "__main__":
    main()
