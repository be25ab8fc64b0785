"""The output model ``ZetaPayne``: one row of ZETA-PAYNE labels per spectrum.

Columns follow ASTRA's vocabulary: labels ``teff, logg, v_sini, m_h, v_micro, v_rad``; their
errors ``e_*`` (calibrated; equal to the formal ones until a calibration exists) and
``raw_e_*`` (formal: χ²-parabola errors for labels, the covariance error for ``v_rad``);
pre-search values ``initial_*``; correlations ``rho_<a>_<b>`` of the free labels and RV;
fit statistics; the Chebyshev response coefficients (stored portably as JSON text); the
bundle that produced the row; ``result_flags`` with one named ``flag_*`` bit per
:class:`zeta_payne.fitting.flags.ResultFlags` bit; the path of the model-flux product.
``#>`` comments group columns into FITS header sections.
"""

from __future__ import annotations

from peewee import FloatField, IntegerField, TextField
from playhouse.hybrid import hybrid_property

from zeta_payne.astra.compat import BitField, PipelineOutputModel
from zeta_payne.astra.standin.fields import FloatArrayField
from zeta_payne.fitting.flags import BAD_MASK, WARN_MASK

__all__ = ["LABEL_COLUMNS", "RHO_COLUMNS", "ZetaPayne"]

#: Labels with value, error and initial-value columns (``v_rad`` last).
LABEL_COLUMNS: tuple[str, ...] = ("teff", "logg", "v_sini", "m_h", "v_micro", "v_rad")
#: Correlation columns ``rho_<a>_<b>`` (``a`` before ``b`` in :data:`LABEL_COLUMNS`).
RHO_COLUMNS: tuple[tuple[str, str, str], ...] = tuple(
    (f"rho_{a}_{b}", a, b) for i, a in enumerate(LABEL_COLUMNS) for b in LABEL_COLUMNS[i + 1 :]
)


# ASTRA reads the `#>` comments (FITS header groups): keep them unformatted.


# fmt: off
class ZetaPayne(PipelineOutputModel):
    """ZETA-PAYNE labels of a hot (OBAF) star from a BOSS or APOGEE spectrum."""

    #> Stellar Labels
    teff = FloatField(null=True, help_text="Effective temperature [K]")
    e_teff = FloatField(null=True, help_text="Error on teff [K]")
    logg = FloatField(null=True, help_text="Surface gravity (log10 cgs) [dex]")
    e_logg = FloatField(null=True, help_text="Error on logg [dex]")
    v_sini = FloatField(null=True, help_text="Projected rotational velocity [km/s]")
    e_v_sini = FloatField(null=True, help_text="Error on v_sini [km/s]")
    m_h = FloatField(null=True, help_text="Metallicity [M/H] [dex]")
    e_m_h = FloatField(null=True, help_text="Error on m_h [dex]")
    v_micro = FloatField(null=True, help_text="Microturbulent velocity [km/s]")
    e_v_micro = FloatField(null=True, help_text="Error on v_micro [km/s]")
    v_rad = FloatField(null=True, help_text="Radial velocity [km/s]")
    e_v_rad = FloatField(null=True, help_text="Error on v_rad [km/s]")

    #> Formal Uncertainties
    raw_e_teff = FloatField(null=True, help_text="Formal (chi2 parabola) error on teff [K]")
    raw_e_logg = FloatField(null=True, help_text="Formal (chi2 parabola) error on logg [dex]")
    raw_e_v_sini = FloatField(null=True, help_text="Formal (chi2 parabola) error on v_sini [km/s]")
    raw_e_m_h = FloatField(null=True, help_text="Formal (chi2 parabola) error on m_h [dex]")
    raw_e_v_micro = FloatField(null=True, help_text="Formal (chi2 parabola) error on v_micro [km/s]")
    raw_e_v_rad = FloatField(null=True, help_text="Formal (covariance) error on v_rad [km/s]")

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

    #> Response
    chebyshev_coeffs = FloatArrayField(null=True, help_text="Chebyshev response coefficients (JSON)")

    #> Model Bundle
    instrument = TextField(null=True, help_text="Instrument (boss or apogee)")
    bundle_name = TextField(null=True, help_text="Model bundle name")
    bundle_version = TextField(null=True, help_text="Model bundle version")
    bundle_sha256 = TextField(null=True, help_text="Model bundle manifest sha256")

    #> Flags
    result_flags = BitField(default=0, help_text="Result flags (see flag_* bits)")
    flag_runtime_exception = result_flags.flag(2**0, help_text="Error, or unreadable spectrum")
    flag_no_pixels = result_flags.flag(2**1, help_text="No usable pixels in the fitted range")
    flag_too_few_pixels = result_flags.flag(2**2, help_text="Fewer usable pixels than the minimum")
    flag_low_snr = result_flags.flag(2**3, help_text="Median S/N below the threshold")
    flag_outside_coverage = result_flags.flag(2**4, help_text="No overlap with the model wavelengths")
    flag_partial_coverage = result_flags.flag(2**5, help_text="Less than half of the fitted range is covered")
    flag_unconverged = result_flags.flag(2**6, help_text="Least squares hit its evaluation limit")
    flag_rv_at_search_edge = result_flags.flag(2**7, help_text="RV at the edge of the search range")
    flag_fitting_failure = result_flags.flag(2**8, help_text="Singular Jacobian or non-finite model")
    flag_bad_input_pixels = result_flags.flag(2**9, help_text="Non-finite flux or ivar (pixels masked)")
    flag_poor_fit = result_flags.flag(2**10, help_text="Reduced chi2 above the threshold")
    flag_teff_at_edge = result_flags.flag(2**12, help_text="teff at the edge of the model grid")
    flag_logg_at_edge = result_flags.flag(2**13, help_text="logg at the edge of the model grid")
    flag_v_sini_at_edge = result_flags.flag(2**14, help_text="v_sini at the edge of the model grid")
    flag_m_h_at_edge = result_flags.flag(2**15, help_text="m_h at the edge of the model grid")
    flag_v_micro_at_edge = result_flags.flag(2**16, help_text="v_micro at the edge of the model grid")
    flag_teff_near_edge = result_flags.flag(2**20, help_text="teff near the edge of the model grid")
    flag_logg_near_edge = result_flags.flag(2**21, help_text="logg near the edge of the model grid")
    flag_v_sini_near_edge = result_flags.flag(2**22, help_text="v_sini near the edge of the model grid")
    flag_m_h_near_edge = result_flags.flag(2**23, help_text="m_h near the edge of the model grid")
    flag_v_micro_near_edge = result_flags.flag(2**24, help_text="v_micro near the edge of the model grid")
    flag_teff_nonconvex_chi2 = result_flags.flag(2**28, help_text="teff chi2 curve not convex")
    flag_logg_nonconvex_chi2 = result_flags.flag(2**29, help_text="logg chi2 curve not convex")
    flag_v_sini_nonconvex_chi2 = result_flags.flag(2**30, help_text="v_sini chi2 curve not convex")
    flag_m_h_nonconvex_chi2 = result_flags.flag(2**31, help_text="m_h chi2 curve not convex")
    flag_v_micro_nonconvex_chi2 = result_flags.flag(2**32, help_text="v_micro chi2 curve not convex")

    #> Data Products
    model_flux_path = TextField(null=True, help_text="Model flux FITS product")

    @hybrid_property
    def flag_bad(self) -> bool:
        """Labels unusable (any bad bit set); an SQL expression on the class."""
        return bool(int(self.result_flags or 0) & int(BAD_MASK))

    @flag_bad.expression
    def flag_bad(cls):  # noqa: N805
        return cls.result_flags.bin_and(int(BAD_MASK)) != 0

    @hybrid_property
    def flag_warn(self) -> bool:
        """Labels need care (any warning bit set); an SQL expression on the class."""
        return bool(int(self.result_flags or 0) & int(WARN_MASK))

    @flag_warn.expression
    def flag_warn(cls):  # noqa: N805
        return cls.result_flags.bin_and(int(WARN_MASK)) != 0
# fmt: on
