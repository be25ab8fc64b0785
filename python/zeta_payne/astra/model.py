"""The output model ``ZetaPayne``: one row of ZETA-PAYNE labels per spectrum.

Columns follow ASTRA's vocabulary: labels ``teff, logg, v_sini, m_h, v_micro, v_rad``; their
errors ``e_*`` (calibrated: the bundle's error model applied to ``cov_e_*``, measured against
synthesis truth — ``zeta-payne bundle calibrate``; at most the box's spread where the
calibration bounds it; equal to ``raw_e_*`` for a bundle without an error calibration),
``raw_e_*`` (formal: the paper's χ²-parabola errors for labels, the covariance error for
``v_rad``) and ``cov_e_*`` (covariance errors, rchi2·(JᵀJ)⁻¹);
pre-search values ``initial_*``; correlations ``rho_<a>_<b>`` of the free labels and RV;
fit statistics; the Chebyshev response coefficients (stored portably as JSON text); the
bundle that produced the row; ``result_flags`` with one named ``flag_*`` bit per
:class:`zeta_payne.fitting.flags.ResultFlags` bit; the path of the model-flux product.
``#>`` comments group columns into FITS header sections.
"""

from __future__ import annotations

from typing import Any

from peewee import Expression, FloatField, IntegerField, TextField
from playhouse.hybrid import hybrid_property

from zeta_payne.astra.compat import BitField, PipelineOutputModel
from zeta_payne.astra.standin.fields import FloatArrayField
from zeta_payne.fitting.flags import BAD_MASK, CANONICAL_LABELS, WARN_MASK, ResultFlags

__all__ = ["FLAG_HELP", "LABEL_COLUMNS", "RHO_COLUMNS", "FlagSummary", "ZetaPayne", "flag_help"]

#: Labels with value, error and initial-value columns (``v_rad`` last).
LABEL_COLUMNS: tuple[str, ...] = ("teff", "logg", "v_sini", "m_h", "v_micro", "v_rad")
#: Correlation columns ``rho_<a>_<b>`` (``a`` before ``b`` in :data:`LABEL_COLUMNS`).
RHO_COLUMNS: tuple[tuple[str, str, str], ...] = tuple(
    (f"rho_{a}_{b}", a, b) for i, a in enumerate(LABEL_COLUMNS) for b in LABEL_COLUMNS[i + 1 :]
)


#: Columns the database fills (never inserted).
_NOT_INSERTED = ("task_pk", "v_astra_major_minor")

#: Help text of the flag bits that are not per-label (per-label ones are derived).
FLAG_HELP: dict[str, str] = {
    "runtime_exception": "Error, or unreadable spectrum",
    "no_pixels": "No usable pixels in the fitted range",
    "too_few_pixels": "Fewer usable pixels than the minimum",
    "low_snr": "Median S/N below the threshold",
    "outside_coverage": "No overlap with the model wavelengths",
    "partial_coverage": "Less than half of the fitted range is covered",
    "unconverged": "Least squares hit its evaluation limit",
    "rv_at_search_edge": "RV at the edge of the search range",
    "fitting_failure": "Singular Jacobian or non-finite model",
    "bad_input_pixels": "Non-finite flux or ivar (pixels masked)",
    "poor_fit": "Reduced chi2 above the threshold",
    "lsf_from_bundle": "No per-pixel LSF in the spectrum: the bundle's nominal R was used",
    "v_sini_unresolved": "v_sini at 0 or below the resolution limit (an upper limit)",
    "v_sini_at_edge": "v_sini at the upper edge of the model grid",
    "out_of_box": "Spectrum outside the model's physics (line groups misfit or emission): labels unusable",
    "line_mismatch": "A line group fitted far worse than the rest, or with one-signed residuals",
    "emission": "Flux above the model in the H-alpha/H-beta (Br-gamma) core: emission-line star",
    "joint_tension": (
        "Joint fit: a spectrum disagrees with the joint labels (mismatched source, composite, "
        "model failure in one band): joint labels unusable"
    ),
    "rv_variable": "Multi-epoch: visit RVs not constant within their errors (single-lined binary)",
    "sb2_candidate": "Residuals show a second, velocity-shifted set of lines (double-lined binary candidate)",
    "nlte_regime": (
        "teff at or above the LTE limit (default 20,000 K): NLTE effects in He I and the Balmer "
        "cores are not modelled, a systematic the uncertainties do not include"
    ),
    "rapid_rotation": (
        "v_sini at or above 300 km/s (FitOptions.rigid_rotation_v_sini_max): gravity darkening and "
        "oblateness of a near-critical rotator are not modelled; teff and log g depend on the "
        "inclination, a systematic the uncertainties do not include"
    ),
    "refit_disagrees": (
        "A fit rule's refit (another blue limit, masked bands or a held label) ended back where "
        "the rule does not apply, far from the first fit (FitOptions.refit_shift_max): the labels "
        "depend on which pixels are fitted, physics the model lacks (e.g. a chemically peculiar "
        "star): labels unusable"
    ),
    "untrained_region": (
        "teff and log g where the bundle has no training spectra (below the log g floor of its "
        "grid: no model atmospheres there): the network extrapolates, labels unusable"
    ),
}
_PER_LABEL_HELP = {
    "at_edge": "{label} at the edge of the model grid",
    "near_edge": "{label} near the edge of the model grid",
    "nonconvex_chi2": "{label} chi2 curve not convex",
    "unconstrained": (
        "{label} barely constrained by this spectrum (covariance error above the bundle's "
        "unconstrained_error): the value is close to arbitrary within the box; where it ran to "
        "an edge and the bundle says so (hold_unconstrained_at_edge), it is held at the bundle's "
        "value with no error"
    ),
}


def flag_help(name: str) -> str:
    """Help text of the flag bit ``name`` (lower case, as in ``flag_<name>``).

    Raises
    ------
    KeyError
        A bit with no help text (add it to :data:`FLAG_HELP`).
    """
    if name in FLAG_HELP:
        return FLAG_HELP[name]
    for label in CANONICAL_LABELS:
        for kind, text in _PER_LABEL_HELP.items():
            if name == f"{label}_{kind}":
                return text.format(label=label)
    raise KeyError(f"flag {name!r} has no help text")


# ASTRA reads the `#>` comments (FITS header groups): keep them unformatted.


class FlagSummary:
    """``flag_bad`` and ``flag_warn`` of a model with a ``result_flags`` column: values on a
    row, SQL expressions on the class (``Model.select().where(Model.flag_bad)``)."""

    @hybrid_property
    def flag_bad(self) -> bool:
        """Labels unusable (any bad bit set); an SQL expression on the class."""
        return bool(int(self.result_flags or 0) & int(BAD_MASK))

    @flag_bad.expression
    def flag_bad(cls) -> Expression:  # noqa: N805
        return cls.result_flags.bin_and(int(BAD_MASK)) != 0

    @hybrid_property
    def flag_warn(self) -> bool:
        """Labels need care (any warning bit set); an SQL expression on the class."""
        return bool(int(self.result_flags or 0) & int(WARN_MASK))

    @flag_warn.expression
    def flag_warn(cls) -> Expression:  # noqa: N805
        return cls.result_flags.bin_and(int(WARN_MASK)) != 0


# fmt: off
class ZetaPayne(FlagSummary, PipelineOutputModel):
    """ZETA-PAYNE labels of a hot (OBAF) star from a BOSS or APOGEE spectrum."""

    #> Stellar Labels
    teff = FloatField(null=True, help_text="Effective temperature [K]")
    e_teff = FloatField(
        null=True,
        help_text=(
            "Calibrated error on teff [K] "
            "(the bundle's error model on cov_e_teff; = raw_e_teff if it has none)"
        ),
    )
    logg = FloatField(null=True, help_text="Surface gravity (log10 cgs) [dex]")
    e_logg = FloatField(
        null=True,
        help_text=(
            "Calibrated error on logg [dex] "
            "(the bundle's error model on cov_e_logg; = raw_e_logg if it has none)"
        ),
    )
    v_sini = FloatField(null=True, help_text="Projected rotational velocity [km/s]")
    e_v_sini = FloatField(
        null=True,
        help_text=(
            "Calibrated error on v_sini [km/s] "
            "(the bundle's error model on cov_e_v_sini; = raw_e_v_sini if it has none)"
        ),
    )
    m_h = FloatField(null=True, help_text="Metallicity [M/H] [dex]")
    e_m_h = FloatField(
        null=True,
        help_text=(
            "Calibrated error on m_h [dex] "
            "(the bundle's error model on cov_e_m_h; = raw_e_m_h if it has none)"
        ),
    )
    v_micro = FloatField(null=True, help_text="Microturbulent velocity [km/s]")
    e_v_micro = FloatField(
        null=True,
        help_text=(
            "Calibrated error on v_micro [km/s] "
            "(the bundle's error model on cov_e_v_micro; = raw_e_v_micro if it has none)"
        ),
    )
    v_rad = FloatField(null=True, help_text="Radial velocity [km/s]")
    e_v_rad = FloatField(
        null=True,
        help_text=(
            "Calibrated error on v_rad [km/s] "
            "(the bundle's error model on cov_e_v_rad; = raw_e_v_rad if it has none)"
        ),
    )

    #> Formal Uncertainties
    raw_e_teff = FloatField(null=True, help_text="Formal (chi2 parabola) error on teff [K]")
    raw_e_logg = FloatField(null=True, help_text="Formal (chi2 parabola) error on logg [dex]")
    raw_e_v_sini = FloatField(null=True, help_text="Formal (chi2 parabola) error on v_sini [km/s]")
    raw_e_m_h = FloatField(null=True, help_text="Formal (chi2 parabola) error on m_h [dex]")
    raw_e_v_micro = FloatField(null=True, help_text="Formal (chi2 parabola) error on v_micro [km/s]")
    raw_e_v_rad = FloatField(null=True, help_text="Formal (covariance) error on v_rad [km/s]")
    cov_e_teff = FloatField(null=True, help_text="Covariance error (rchi2 (J^T J)^-1) on teff [K]")
    cov_e_logg = FloatField(null=True, help_text="Covariance error (rchi2 (J^T J)^-1) on logg [dex]")
    cov_e_v_sini = FloatField(null=True, help_text="Covariance error (rchi2 (J^T J)^-1) on v_sini [km/s]")
    cov_e_m_h = FloatField(null=True, help_text="Covariance error (rchi2 (J^T J)^-1) on m_h [dex]")
    cov_e_v_micro = FloatField(null=True, help_text="Covariance error (rchi2 (J^T J)^-1) on v_micro [km/s]")
    cov_e_v_rad = FloatField(null=True, help_text="Covariance error (rchi2 (J^T J)^-1) on v_rad [km/s]")

    #> Correlation Coefficients
    rho_teff_logg = FloatField(null=True, help_text="Correlation of teff and logg")
    rho_teff_v_sini = FloatField(null=True, help_text="Correlation of teff and v_sini")
    rho_teff_m_h = FloatField(null=True, help_text="Correlation of teff and m_h")
    rho_teff_v_micro = FloatField(null=True, help_text="Correlation of teff and v_micro")
    rho_teff_v_rad = FloatField(null=True, help_text="Correlation of teff and v_rad")
    rho_logg_v_sini = FloatField(null=True, help_text="Correlation of logg and v_sini")
    rho_logg_m_h = FloatField(null=True, help_text="Correlation of logg and m_h")
    rho_logg_v_micro = FloatField(null=True, help_text="Correlation of logg and v_micro")
    rho_logg_v_rad = FloatField(null=True, help_text="Correlation of logg and v_rad")
    rho_v_sini_m_h = FloatField(null=True, help_text="Correlation of v_sini and m_h")
    rho_v_sini_v_micro = FloatField(null=True, help_text="Correlation of v_sini and v_micro")
    rho_v_sini_v_rad = FloatField(null=True, help_text="Correlation of v_sini and v_rad")
    rho_m_h_v_micro = FloatField(null=True, help_text="Correlation of m_h and v_micro")
    rho_m_h_v_rad = FloatField(null=True, help_text="Correlation of m_h and v_rad")
    rho_v_micro_v_rad = FloatField(null=True, help_text="Correlation of v_micro and v_rad")

    #> Initial Values
    initial_teff = FloatField(null=True, help_text="Pre-search value of teff [K]")
    initial_logg = FloatField(null=True, help_text="Pre-search value of logg [dex]")
    initial_v_sini = FloatField(null=True, help_text="Pre-search value of v_sini [km/s]")
    initial_m_h = FloatField(null=True, help_text="Pre-search value of m_h [dex]")
    initial_v_micro = FloatField(null=True, help_text="Pre-search value of v_micro [km/s]")
    initial_v_rad = FloatField(null=True, help_text="Pre-search value of v_rad [km/s]")

    #> Summary Statistics
    chi2 = FloatField(null=True, help_text="Chi-squared of the fit")
    rchi2 = FloatField(null=True, help_text="Reduced chi-squared of the fit")
    snr = FloatField(null=True, help_text="Median S/N of the fitted pixels")
    n_pixels = IntegerField(null=True, help_text="Pixels used in the fit")
    lsf_source = TextField(null=True, help_text="LSF used: spectrum, option (given R), bundle (nominal R)")

    #> Response
    chebyshev_coeffs = FloatArrayField(null=True, help_text="Chebyshev response coefficients (JSON)")

    #> Model Bundle
    instrument = TextField(null=True, help_text="Instrument (boss or apogee)")
    bundle_name = TextField(null=True, help_text="Model bundle name")
    bundle_version = TextField(null=True, help_text="Model bundle version")
    bundle_sha256 = TextField(null=True, help_text="Model bundle manifest sha256")

    #> Flags
    result_flags = BitField(default=0, help_text="Result flags (see flag_* bits)")
    # One flag_<name> column per ResultFlags bit, added below the class.

    #> Data Products
    model_flux_path = TextField(null=True, help_text="Model flux FITS product")

    @classmethod
    def from_spectrum(cls, spectrum: Any, **kwargs: Any) -> ZetaPayne:
        """A row for ``spectrum`` with **every** column set (NULL where no value is given).

        ASTRA's decorator inserts a batch with ``insert_many(r.__data__ ...)``, and peewee
        takes the column list from the first row: a column left unset on the first row of a
        batch (e.g. ``model_flux_path`` of a failed fit) would be dropped for all of them.
        """
        row = super().from_spectrum(spectrum, **kwargs)
        for field in cls._meta.sorted_fields:
            if field.name not in row.__data__ and field.name not in _NOT_INSERTED:
                row.__data__[field.name] = None
        return row
# fmt: on


# The flag columns, one per ResultFlags bit, so the ORM never drifts from the fitter's flags.
for _flag in ResultFlags:
    setattr(ZetaPayne, f"flag_{_flag.name.lower()}",
            ZetaPayne.result_flags.flag(int(_flag), help_text=flag_help(_flag.name.lower())))
del _flag
