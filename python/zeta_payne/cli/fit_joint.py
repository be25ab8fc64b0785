"""``zeta-payne fit --joint`` and ``--epochs``: one source's spectra fitted together.

``--joint``: the spectra of one star from BOSS and APOGEE (each with its instrument's bundle)
with shared labels (:func:`zeta_payne.fitting.joint.fit_joint`). ``--epochs``: visit spectra of
one star from one instrument with shared labels and one RV per visit
(:func:`zeta_payne.fitting.joint.fit_epochs`). All inputs are one source, or with
``--by-source`` the spectra are grouped by their identifier (sdss_id, name in the file).

The table has the columns of ``zeta-payne fit`` plus :data:`JOINT_COLUMNS`: per source one
``row_kind = joint`` row (the shared labels and their errors, the weighted mean RV, the RV
statistics, the largest tension) followed by one ``row_kind = spectrum`` (``--joint``) or
``visit`` (``--epochs``) row per input spectrum (the shared labels, **its** RV and error at the
joint solution, its χ², tension and companion search, and its own single-spectrum fit as
``single_*`` when it was fitted alone).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any

from zeta_payne.cli.fit_table import FitTable
from zeta_payne.exceptions import ZetaPayneError

__all__ = ["JOINT_COLUMNS", "JointTable", "run_joint"]

#: Columns added to the ``fit`` table by the joint modes.
JOINT_COLUMNS: tuple[str, ...] = (
    "row_kind",
    "source",
    "spectrum_index",
    "n_spectra",
    "tension",
    "delta_chi2",
    "p_tension",
    "sb2_delta_chi2",
    "sb2_shift",
    "max_tension",
    "rv_chi2",
    "rv_dof",
    "rv_p_constant",
    "rv_peak_to_peak",
)


class JointTable(FitTable):
    """The ``fit`` table with the joint columns and the single-fit columns of the labels.

    Parameters
    ----------
    path : str or None
    bundles : mapping
        ``{instrument: Bundle}``.
    """

    def __init__(self, path: str | None, bundles: Mapping[str, Any]) -> None:
        super().__init__(None, bundles)  # columns and header only; the file is opened here
        names = [c for c in ("teff", "logg", "v_sini", "m_h", "v_micro") if c in self.columns]
        singles = [f"single_{p}{n}" for n in (*names, "v_rad") for p in ("", "e_")]
        self.columns = [*self.columns, *JOINT_COLUMNS, *singles, "single_rchi2", "single_result_flags"]
        self.path = path
        if path:
            from zeta_payne.io.tables import table_format

            self.kind = table_format(path)
            if self.kind == "csv":
                self._fh = open(path, "w", newline="")  # noqa: SIM115 - kept open while rows come
                self._csv = csv.writer(self._fh)
                self._csv.writerow(self.columns)
                self._fh.flush()

    def add_source(
        self, source: int, spectra: Sequence[Any], frame: str, fitters: Sequence[Any], jr: Any, kind: str
    ) -> None:
        """Add the joint row of one source, then one row per member spectrum."""
        joint = _Joined(spectra)
        bundle = _Joined([f.bundle for f in fitters], attrs=("name", "version"))
        self.add(
            joint, frame, bundle, _RowResult(jr.flags, {**jr.as_row(), "row_kind": "joint", "source": source})
        )
        shared = jr.result.as_row()
        for member, spectrum, fitter in zip(jr.members, spectra, fitters, strict=True):
            row = {**shared, **member.as_row(), "row_kind": kind, "source": source, "n_spectra": len(spectra)}
            row.pop("bundle_name", None)
            self.add(spectrum, frame, fitter.bundle, _RowResult(member.flags, row))


class _RowResult:
    """A table row with its flags (``flag_bad``/``flag_warn`` from the bits)."""

    def __init__(self, flags: int, row: dict[str, Any]) -> None:
        self._row = row
        self.flags = int(flags)

    def as_row(self) -> dict[str, Any]:
        return self._row

    @property
    def flag_bad(self) -> bool:
        from zeta_payne.fitting.flags import BAD_MASK

        return bool(self.flags & int(BAD_MASK))

    @property
    def flag_warn(self) -> bool:
        from zeta_payne.fitting.flags import WARN_MASK

        return bool(self.flags & int(WARN_MASK))


class _Joined:
    """Several spectra (or bundles) as one for the table's descriptive columns."""

    def __init__(self, items: Sequence[Any], attrs: tuple[str, ...] = ()) -> None:
        self.meta: dict[str, Any] = {}
        metas = [getattr(i, "meta", {}) or {} for i in items]
        for key in ("file", "instrument", "telescope"):
            values = [str(m.get(key, "")) for m in metas]
            self.meta[key] = "+".join(dict.fromkeys(values)) if any(values) else ""
        for key in ("sdss_id", "obsid", "apogee_id", "obj", "name"):
            values = {str(m.get(key)) for m in metas if m.get(key) not in (None, "")}
            if len(values) == 1:
                self.meta[key] = values.pop()
        for attr in attrs:
            setattr(self, attr, "+".join(dict.fromkeys(str(getattr(i, attr)) for i in items)))


def _groups(spectra: list[Any], by_source: bool) -> list[list[Any]]:
    if not by_source:
        return [spectra]
    from zeta_payne.cli.fit_table import _identifier

    groups: dict[str, list[Any]] = {}
    for s in spectra:
        groups.setdefault(_identifier(s.meta) or str(s.meta.get("file", "")), []).append(s)
    return list(groups.values())


def run_joint(
    args: argparse.Namespace, spectra: list[Any], bundles: Mapping[str, Any], bundle_for: Mapping[str, str]
) -> int:
    """Fit ``spectra`` as sources (``args.joint`` or ``args.epochs``) and write the table.

    Returns
    -------
    int
        Exit status (0, or 130 when interrupted; rows so far are kept).
    """
    from zeta_payne.cli.errors import EXIT_INTERRUPTED
    from zeta_payne.cli.fit import UNKNOWN_FRAME, fit_overrides
    from zeta_payne.fitting.fitter import Fitter
    from zeta_payne.fitting.joint import fit_epochs, fit_joint
    from zeta_payne.fitting.options import merge_options

    overrides = fit_overrides(args)
    fitters: dict[tuple[str, str], Fitter] = {}
    table = JointTable(args.output, bundles)
    groups = _groups(spectra, getattr(args, "by_source", False))
    kind = "visit" if args.epochs else "spectrum"
    start = time.monotonic()
    bad = 0
    try:
        for source, group in enumerate(groups):
            if args.frame:  # the fit's masked bands follow the frame too
                for s in group:
                    s.frame = args.frame
            frames = {args.frame or s.frame or UNKNOWN_FRAME for s in group}
            frame = "observed" if "observed" in frames else frames.pop()
            chosen = []
            for s in group:
                instrument = bundle_for[s.meta["instrument"]]
                if (instrument, frame) not in fitters:
                    bundle = bundles[instrument]
                    options = merge_options(bundle.manifest.fit_defaults, overrides, frame=frame)
                    fitters[instrument, frame] = Fitter(bundle, options, device=args.device)
                chosen.append(fitters[instrument, frame])
            if args.epochs:
                if len({id(f) for f in chosen}) > 1:
                    raise ZetaPayneError(
                        "--epochs fits visits of one instrument; these spectra need several bundles "
                        "(use --joint, or --instrument to pick one)"
                    )
                jr = fit_epochs(chosen[0], group)
            else:
                jr = fit_joint(chosen, group)
            bad += bool(jr.result.flag_bad)
            table.add_source(source, group, frame, chosen, jr, kind)
            if not args.quiet:
                print(
                    f"source {source + 1}/{len(groups)}: {len(group)} spectra, flags "
                    f"{','.join(jr.result.flag_names) or '-'}",
                    file=sys.stderr,
                )
    except KeyboardInterrupt:
        table.close()
        print(f"zeta-payne: interrupted: {table.n_rows} rows kept", file=sys.stderr)
        return EXIT_INTERRUPTED
    table.close()
    if not args.quiet or args.output:
        where = f" to {args.output}" if args.output else ""
        print(
            f"fitted {len(groups)} source(s) ({bad} flagged bad) in {time.monotonic() - start:.1f} s; "
            f"wrote {table.n_rows} rows{where}",
            file=sys.stdout if args.output else sys.stderr,
        )
    return 0
