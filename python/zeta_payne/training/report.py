"""The accuracy report a trained bundle carries: ``emulator_accuracy.md`` and its figure."""

from __future__ import annotations

import io

import numpy as np

from zeta_payne.training.accuracy import holdout_markdown
from zeta_payne.training.labels import UNITS
from zeta_payne.training.spec import TrainingSpec
from zeta_payne.training.trainer import TrainOutcome

__all__ = ["STOP_TEXT", "accuracy_report"]

#: What each ``TrainOutcome.stop_reason`` means, as the report says it.
STOP_TEXT = {
    "iterations": "all iterations done",
    "plateau": "the validation score stopped falling",
    "time budget": "the time budget was spent (resumable)",
}


def accuracy_report(
    spec: TrainingSpec,
    outcome: TrainOutcome,
    errors: dict,
    interp: dict,
    wavelength: np.ndarray,
    provenance: dict,
    holdout: dict | None = None,
) -> dict[str, bytes]:
    """``emulator_accuracy.md`` and its figure ``emulator_accuracy.png``, as the bundle's files.

    Parameters
    ----------
    spec : TrainingSpec
        The bundle's name, version and instrument.
    outcome : TrainOutcome
        The training's iterations, seconds, device, best score and stop reason; its history
        (iteration, train loss, validation MAE) becomes the report's last table.
    errors, interp : dict
        The emulator's errors on the validation set and the lattice's node interpolation.
    wavelength : numpy.ndarray, shape (P,)
        The bundle's pixels [Å, vacuum] (the figure's x axis).
    provenance : dict
        The bundle's provenance (:func:`~zeta_payne.training.record.bundle_provenance`).
    holdout : dict, optional
        Errors against a held-out grid: its section is written when it has emulator errors.

    Returns
    -------
    dict
        ``{file name: bytes}``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(3, 1, figsize=(11, 8))
    axes[0].plot(wavelength, errors["per_pixel_median"], lw=0.5, label="median")
    axes[0].plot(wavelength, errors["per_pixel_p95"], lw=0.5, alpha=0.7, label="95th percentile")
    axes[0].set_ylabel("|Δflux| (held out)")
    axes[0].set_xlabel("wavelength [Å, vacuum]")
    axes[0].legend()
    for ax, key in zip(axes[1:], ("teff", "v_sini"), strict=True):
        reg = errors["regions"].get(key, [])
        ax.bar(
            [0.5 * (r["lo"] + r["hi"]) for r in reg],
            [r["median"] for r in reg],
            width=0.8 * (reg[0]["hi"] - reg[0]["lo"]) if reg else 1,
        )
        ax.set_xlabel(f"{key} [{UNITS[key]}]")
        ax.set_ylabel("median |Δflux| per spectrum")
    fig.suptitle(f"{spec.name} {spec.version}: emulator error on the validation set")
    fig.tight_layout()
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=80)
    plt.close(fig)
    hist = outcome.history
    acc = provenance["accuracy"]
    lines = [
        f"# Emulator accuracy: {spec.name} {spec.version} ({spec.instrument})",
        "",
        f"- training: {provenance['training']['n_train']} spectra, "
        f"validation {provenance['training']['n_valid']}"
        + (f" ({provenance['training']['n_dropped']} labels in cells the grid cannot interpolate "
           "dropped)" if provenance["training"].get("n_dropped") else "") + ", "
        f"{outcome.iterations_done} iterations in {outcome.seconds:.0f} s on {outcome.device}; "
        f"best validation MAE {outcome.best_score:.5f} at iteration {outcome.best_iteration}; "
        f"stopped at iteration {outcome.iterations_done}: {STOP_TEXT[outcome.stop_reason]}",
        "- labels and box: " + ", ".join(f"{n} {lo:g}–{hi:g}" for n, (lo, hi) in provenance["box"].items()),
        f"- emulator |Δflux| on held-out spectra: median {errors['median']:.5f}, 95th percentile "
        f"{errors['p95']:.5f}, max {errors['max']:.4f} (continuum = 1)",
        (f"- node interpolation |Δflux| on the finer lattice levels' nodes (interpolated from the "
         f"coarser level): median {interp['median']:.5f}, 95th percentile {interp['p95']:.5f} "
         f"({interp['n_nodes']} nodes)" if interp["n_nodes"] else
         "- node interpolation within the lattice: not measured (one complete level; see the "
         "held-out nodes below, if given)"),
        f"- output layer stored as {acc['output_layer_dtype']}"
        + (f" (rounding changes the flux by at most {acc['float16_max_abs_difference']:.5f}"
           " on the validation set; the errors above include it)"
           if acc.get("float16_max_abs_difference") is not None else ""),
        f"- node grid: {provenance['grid']['name']} ({provenance['grid']['n_nodes']} nodes, manifest sha256 "
        f"{provenance['grid']['manifest_sha256'][:16]})",
        "",
    ]
    vmic = provenance.get("vmicro_response")
    if vmic:
        grids = ", ".join(f"{v} km/s: `{name}`" for v, name in vmic["grids"].items())
        lines += [
            "## v_micro response",
            "",
            f"v_micro {min(vmic['values']):g}–{max(vmic['values']):g} km/s from the response grids "
            f"({grids}) added to the "
            f"{vmic['reference']:g} km/s grid; {vmic['note']}.",
            "",
            "Response interpolation at nodes it does not use (|Δflux| against the synthesized "
            "response; *lattice*: check nodes between the lattice values; *v_micro*: a value "
            "between the knots, linear in v_micro):",
            "",
            "| check | v_micro | teff | logg | [M/H] | median | p95 | max | max response | max / response |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {r['kind']} | {r['v_micro']:g} | {r['teff']:.0f} | {r['logg']:.2f} | {r['m_h']:+.2f} | "
            f"{r['median']:.5f} | {r['p95']:.5f} | {r['max']:.4f} | {r['response_max']:.4f} | "
            f"{r['relative_max']:.2f} |"
            for r in vmic["check_nodes"]
        ]
        lines.append("")
    if holdout and holdout.get("emulator"):
        lines += holdout_markdown(holdout, provenance["grid"].get("holdout_grid") or "",
                                  provenance["training"].get("stencil"))
    lines += [
        "## Median |Δflux| per spectrum by region (validation set)",
        "",
        "| label | "
        + " | ".join(f"{r['lo']:.0f}–{r['hi']:.0f}" for r in errors["regions"].get("teff", []))
        + " |",
    ]
    for key in ("teff", "v_sini", "v_micro"):
        reg = errors["regions"].get(key, [])
        if not reg:
            continue
        if key != "teff":
            digits = 1 if key == "v_micro" else 0
            lines.append("")
            lines.append("| label | " + " | ".join(f"{r['lo']:.{digits}f}–{r['hi']:.{digits}f}" for r in reg)
                         + " |")
        lines.append("|---|" + "---|" * len(reg))
        lines.append(f"| {key} | " + " | ".join(f"{r['median']:.4f} (n={r['n']})" for r in reg) + " |")
    lines += ["", "## Validation history", "", "| iteration | train loss | validation MAE |", "|---|---|---|"]
    lines += [f"| {int(i)} | {tl:.5f} | {vs:.5f} |" for i, tl, vs in hist]
    lines += ["", "![errors](emulator_accuracy.png)", ""]
    return {"emulator_accuracy.md": "\n".join(lines).encode(), "emulator_accuracy.png": png.getvalue()}
