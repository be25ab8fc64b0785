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
    p.add_argument(
        "--init-from",
        default=None,
        help="warm-start from this bundle (same network shape; another box is taken by an exact "
        "rescaling of the first layer)",
    )
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
    p.add_argument(
        "--until-plateau",
        action="store_true",
        help="stop when the best validation MAE has not fallen by --min-improvement over "
        "--patience validations (still at most --iterations and --max-seconds; resumable)",
    )
    p.add_argument("--patience", type=int, default=10, metavar="N",
                   help="validations without enough progress before --until-plateau stops")
    p.add_argument("--min-improvement", type=float, default=0.01, metavar="FRACTION",
                   help="relative fall of the best validation MAE that counts as progress")
    p.add_argument(
        "--box",
        choices=["paper", "grid"],
        default="paper",
        help="training box of teff, logg, [M/H]: the paper's Table 1 (the shipped "
        "bundles) or the grid's node axes; either within the lattice on disk",
    )
    p.add_argument(
        "--lattice",
        choices=["complete", "nodes"],
        default="complete",
        help="train on the largest complete sub-lattice on disk (a partial grid) or "
        "on every node, dropping training labels in cells without all their nodes (a finished "
        "grid with holes where no model atmosphere exists, as v3)",
    )
    p.add_argument(
        "--stencil",
        default="2,2,2",
        metavar="T,G,M",
        help="interpolation stencil of the training generator per axis teff,logg,m_h: 2 linear, "
        "4 cubic Lagrange (default 2,2,2: multilinear, as the shipped bundles; measured choice "
        "for v3: data/grids/v3/measure_lattice_error.py)",
    )
    p.add_argument(
        "--label-range",
        nargs=3,
        action="append",
        default=[],
        metavar=("LABEL", "MIN", "MAX"),
        help="set one label's training range (repeatable; units K, dex, km/s)",
    )
    p.add_argument(
        "--vmicro-grid",
        action="append",
        default=[],
        metavar="DIR",
        help="v_micro response grid (the node grid at another v_micro; repeatable): makes "
        "v_micro a label (see docs/synthesis.md, 'v_micro response in training')",
    )
    p.add_argument("--vmicro-taper", type=float, default=None, metavar="K",
                   help="width [K] over which the v_micro response falls to 0 above its teff "
                   "range (default: to the grid's next teff value)")
    p.add_argument("--continuum-grid", default=None, metavar="DIR",
                   help="the grid's continuum jump-factor grid (`zeta-payne grid continuum`): the "
                   "network learns the normalised spectrum times the Balmer/Paschen jump factor, "
                   "as a flux-calibrated spectrum shows it")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    import json

    from zeta_payne.grids.stencil import parse_points
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
        box=args.box,
        label_ranges=tuple((name, float(lo), float(hi)) for name, lo, hi in args.label_range),
        vmicro_grids=tuple(args.vmicro_grid),
        vmicro_taper=args.vmicro_taper,
        lattice=args.lattice,
        stencil=parse_points(args.stencil),
        continuum_grid=args.continuum_grid,
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
        plateau_patience=args.patience if args.until_plateau else 0,
        plateau_min_improvement=args.min_improvement,
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
