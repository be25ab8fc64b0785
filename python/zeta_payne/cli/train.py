"""``zeta-payne train``: train a bundle on a node grid (paper §3.2)."""

from __future__ import annotations

import argparse
import sys

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train an emulator bundle from a node grid")
    p.add_argument("--grid", required=True, help="node grid folder (data/grids/<name>)")
    p.add_argument("--instrument", required=True, choices=["boss", "apogee"])
    p.add_argument("--out", required=True, help="bundle folder to write")
    p.add_argument("--name", default=None, help="bundle name (default zeta-payne-<instrument>)")
    p.add_argument("--version", default="0.1.0")
    p.add_argument("--n-sobol", type=int, default=5000)
    p.add_argument("--n-gauss", type=int, default=5000)
    p.add_argument("--hidden", type=int, default=300)
    p.add_argument("--iterations", type=int, default=10_000)
    p.add_argument("--validate-every", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=1000)
    p.add_argument("--learning-rate", type=float, default=1e-4)
    p.add_argument("--final-learning-rate", type=float, default=None)
    p.add_argument("--loss", choices=["l1", "l2"], default="l1")
    p.add_argument("--wavelength-range", type=float, nargs=2, default=None, metavar=("MIN", "MAX"))
    p.add_argument("--device", default="auto", help="auto (CUDA if present), cpu, cuda")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch default)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--max-seconds",
        type=float,
        default=None,
        help="stop after this much training time (resumable from the checkpoint)",
    )
    p.add_argument("--checkpoint", default=None, help="resumable training state (default <out>.ckpt)")
    p.add_argument("--init-from", default=None, help="warm-start from this bundle (same shape and box)")
    p.add_argument(
        "--holdout-grid",
        default=None,
        help="node grid of held-out syntheses (off the lattice): report node-interpolation "
        "and emulator error against them",
    )
    p.add_argument(
        "--pca-components",
        type=int,
        default=0,
        help="train on this many principal components of the spectra and multiply the "
        "basis into the output layer (same network; ~pixels/K times cheaper steps; "
        "0 = train on pixels as the paper)",
    )
    p.add_argument(
        "--output-layer-dtype",
        choices=["float32", "float16"],
        default="float32",
        help="storage of the output layer (float16 halves the bundle; the rounding "
        "error is measured and reported)",
    )
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    import json

    from zeta_payne.training.pipeline import TrainingSpec, train_bundle
    from zeta_payne.training.trainer import TrainConfig

    spec = TrainingSpec(
        name=args.name or f"zeta-payne-{args.instrument}",
        version=args.version,
        instrument=args.instrument,
        n_sobol=args.n_sobol,
        n_gauss=args.n_gauss,
        seed=args.seed,
        wavelength_range=tuple(args.wavelength_range) if args.wavelength_range else None,
        holdout_grid=args.holdout_grid,
        output_layer_dtype=args.output_layer_dtype,
    )
    config = TrainConfig(
        n_hidden=args.hidden,
        batch_size=args.batch_size,
        iterations=args.iterations,
        validate_every=args.validate_every,
        learning_rate=args.learning_rate,
        final_learning_rate=args.final_learning_rate,
        loss=args.loss,
        seed=args.seed,
        device=args.device,
        threads=args.threads,
        max_seconds=args.max_seconds,
        pca_components=args.pca_components,
    )

    def progress(it: int, loss: float, score: float) -> None:
        print(
            f"iteration {it}: train loss {loss:.5f}, validation MAE {score:.5f}", file=sys.stderr, flush=True
        )

    checkpoint = args.checkpoint or f"{args.out.rstrip('/')}.ckpt"
    initial = None
    if args.init_from:
        from zeta_payne.bundles.registry import find_bundle

        initial = find_bundle(args.init_from)
    bundle = train_bundle(
        args.grid, spec, config, args.out, checkpoint=checkpoint, progress=progress, initial=initial
    )
    print(json.dumps({**bundle.describe(), "accuracy": bundle.manifest.provenance["accuracy"]}, indent=2))
    return 0
