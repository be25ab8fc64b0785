"""Source-level output: ``ZetaPayneSource`` (one row per source and ASTRA version) and its child
table ``ZetaPayneVisit`` (one row per spectrum or visit of that result).

``ZetaPayneSource`` is unique on ``(source_pk, v_astra_major_minor)`` and has no
``spectrum_pk``: ASTRA's bulk insert then upserts it on ``source_pk`` (the stand-in does the
same). Its columns are the shared labels of a joint or multi-epoch fit
(:mod:`zeta_payne.fitting.joint`) with ``e_``/``raw_e_``/``cov_e_`` errors as in ``ZetaPayne``,
the weighted-mean RV, the RV-variability statistics, the largest tension and companion Δχ²,
the bundles, ``result_flags`` with one ``flag_*`` per bit. ``ZetaPayneVisit`` rows hold each
spectrum's RV and error at the joint solution, its χ², tension, companion search and its own
single-spectrum labels, linked to their source row by ``source_task_pk`` (deleted with it).
"""

from __future__ import annotations

import datetime
from typing import Any

from peewee import (
    SQL,
    AutoField,
    DateTimeField,
    FloatField,
    ForeignKeyField,
    IntegerField,
    TextField,
)

from zeta_payne.astra import compat
from zeta_payne.astra.compat import BaseModel, BitField
from zeta_payne.astra.model import FlagSummary, flag_help
from zeta_payne.fitting.flags import ResultFlags

__all__ = ["SOURCE_LABELS", "ZetaPayneSource", "ZetaPayneVisit"]

#: Labels with value and error columns in ``ZetaPayneSource``.
SOURCE_LABELS: tuple[str, ...] = ("teff", "logg", "v_sini", "m_h", "v_micro")
#: Labels of the single-spectrum fit kept in ``ZetaPayneVisit`` (``single_*``).
SINGLE_LABELS: tuple[str, ...] = ("teff", "logg", "v_sini", "m_h")


def _v_astra() -> int:
    return compat.current_v_astra()


def _float(help_text: str) -> FloatField:
    return FloatField(null=True, help_text=help_text)


# ASTRA reads the `#>` comments (FITS header groups): keep them unformatted.


# fmt: off
class ZetaPayneSource(FlagSummary, BaseModel):
    """ZETA-PAYNE labels of one source from all its spectra (joint or multi-epoch fit)."""

    source_pk = ForeignKeyField(compat.Source, index=True, lazy_load=False, column_name="source_pk",
                                on_delete="CASCADE", backref="+")

    #> Astra Metadata
    task_pk = AutoField()
    v_astra = IntegerField(default=_v_astra, help_text="Astra version (integer)")
    created = DateTimeField(default=datetime.datetime.now, help_text="When the task record was created")
    modified = DateTimeField(default=datetime.datetime.now, help_text="When the task record was updated")
    t_elapsed = FloatField(null=True, help_text="Core-time spent on this source [s]")
    t_overhead = FloatField(null=True, help_text="Shared overhead attributed to this source [s]")
    tag = TextField(default="", index=True, help_text="Experiment tag")
    v_astra_major_minor = IntegerField(
        constraints=[SQL("GENERATED ALWAYS AS (v_astra / 1000) STORED")], _hidden=True
    )

    #> Fit
    mode = TextField(null=True, help_text="joint (instruments) or epochs (visits of one instrument)")
    n_spectra = IntegerField(null=True, help_text="Spectra in the fit (rows in zeta_payne_visit)")

    #> Stellar Labels
    teff = _float("Effective temperature [K]")
    e_teff = _float("Error on teff [K] (joint chi2 parabola)")
    raw_e_teff = _float("Joint chi2-parabola error on teff [K]")
    cov_e_teff = _float("Joint covariance error on teff [K]")
    logg = _float("Surface gravity (log10 cgs) [dex]")
    e_logg = _float("Error on logg [dex] (joint chi2 parabola)")
    raw_e_logg = _float("Joint chi2-parabola error on logg [dex]")
    cov_e_logg = _float("Joint covariance error on logg [dex]")
    v_sini = _float("Projected rotational velocity [km/s]")
    e_v_sini = _float("Error on v_sini [km/s] (joint chi2 parabola)")
    raw_e_v_sini = _float("Joint chi2-parabola error on v_sini [km/s]")
    cov_e_v_sini = _float("Joint covariance error on v_sini [km/s]")
    m_h = _float("Metallicity [M/H] [dex]")
    e_m_h = _float("Error on m_h [dex] (joint chi2 parabola)")
    raw_e_m_h = _float("Joint chi2-parabola error on m_h [dex]")
    cov_e_m_h = _float("Joint covariance error on m_h [dex]")
    v_micro = _float("Microturbulent velocity [km/s]")
    e_v_micro = _float("Error on v_micro [km/s] (joint chi2 parabola)")
    raw_e_v_micro = _float("Joint chi2-parabola error on v_micro [km/s]")
    cov_e_v_micro = _float("Joint covariance error on v_micro [km/s]")
    v_rad = _float("Weighted mean radial velocity of the spectra [km/s]")
    e_v_rad = _float("Error on the weighted mean radial velocity [km/s]")

    #> Radial Velocity Variability
    rv_chi2 = _float("Chi2 of the spectra's RVs about their weighted mean")
    rv_dof = IntegerField(null=True, help_text="Degrees of freedom of rv_chi2 (spectra with an RV - 1)")
    rv_p_constant = _float("Probability of RVs this scattered from a constant RV")
    rv_peak_to_peak = _float("Largest minus smallest RV [km/s]")

    #> Consistency
    max_tension = _float("Largest tension of a spectrum with the joint labels (1: one parabola error)")
    max_sb2_delta_chi2 = _float("Largest companion-search chi2 gain of a spectrum (per rchi2)")

    #> Summary Statistics
    chi2 = _float("Chi-squared of the joint fit")
    rchi2 = _float("Reduced chi-squared of the joint fit")
    snr = _float("Combined S/N (quadrature sum of the spectra's median S/N)")
    n_pixels = IntegerField(null=True, help_text="Pixels used in the joint fit")

    #> Model Bundle
    bundle_name = TextField(null=True, help_text="Model bundles (name, '+'-joined)")
    bundle_version = TextField(null=True, help_text="Model bundle versions ('+'-joined)")
    bundle_sha256 = TextField(null=True, help_text="Model bundle manifest sha256 ('+'-joined)")

    #> Flags
    result_flags = BitField(default=0, help_text="Result flags (see flag_* bits)")
    # One flag_<name> column per ResultFlags bit, added below the class.

    class Meta:
        table_name = "zeta_payne_source"
        constraints = [SQL("UNIQUE (source_pk, v_astra_major_minor)")]

    @classmethod
    def from_source(cls, source_pk: int, **kwargs: Any) -> ZetaPayneSource:
        """A row for the source with **every** column set (NULL where no value is given; see
        ``ZetaPayne.from_spectrum`` for why)."""
        row = cls(source_pk=source_pk, **kwargs)
        for field in cls._meta.sorted_fields:
            if field.name not in row.__data__ and field.name not in ("task_pk", "v_astra_major_minor"):
                row.__data__[field.name] = None
        return row


class ZetaPayneVisit(BaseModel):
    """One spectrum (visit) of a ``ZetaPayneSource`` result."""

    pk = AutoField()
    source_task_pk = ForeignKeyField(ZetaPayneSource, field=ZetaPayneSource.task_pk, index=True,
                                     lazy_load=False, column_name="source_task_pk", on_delete="CASCADE",
                                     backref="visits")
    source_pk = IntegerField(index=True, help_text="Source of the spectrum")
    spectrum_pk = IntegerField(null=True, index=True, help_text="The spectrum (NULL: none)")
    v_astra = IntegerField(default=_v_astra, help_text="Astra version (integer)")
    created = DateTimeField(default=datetime.datetime.now, help_text="When the row was written")

    #> Spectrum
    spectrum_index = IntegerField(help_text="Order of the spectrum in the fit")
    spectrum_type = TextField(null=True, help_text="Spectrum model (e.g. ApogeeVisitSpectrum)")
    instrument = TextField(null=True, help_text="Instrument (boss or apogee)")
    bundle_name = TextField(null=True, help_text="Model bundle of this spectrum")

    #> Radial Velocity
    v_rad = _float("Radial velocity of this spectrum at the joint labels [km/s]")
    e_v_rad = _float("Error on v_rad (covariance error through the bundle's RV error calibration) [km/s]")
    cov_e_v_rad = _float("Covariance error on v_rad at this spectrum's reduced chi2 [km/s]")
    initial_v_rad = _float("Start of the joint fit for v_rad [km/s]")

    #> Fit of This Spectrum
    chi2 = _float("Chi-squared of this spectrum at the joint solution")
    rchi2 = _float("Reduced chi-squared of this spectrum at the joint solution")
    snr = _float("Median S/N of the fitted pixels")
    n_pixels = IntegerField(null=True, help_text="Pixels of this spectrum in the fit")
    chi2_single = _float("Chi-squared of this spectrum's own fit")
    delta_chi2 = _float("chi2 - chi2_single: the price of the joint labels")
    tension = _float("delta_chi2 over the paper's 1-sigma chi2 increment of this spectrum")
    p_tension = _float("P(chi2_F >= delta_chi2/rchi2_single) for consistent spectra")
    sb2_delta_chi2 = _float("Best companion (shifted lines) chi2 gain per rchi2")
    sb2_shift = _float("Velocity shift of that companion [km/s]")

    #> Single-Spectrum Fit
    single_teff = _float("teff of this spectrum's own fit [K]")
    single_e_teff = _float("Error on single_teff [K]")
    single_logg = _float("logg of this spectrum's own fit [dex]")
    single_e_logg = _float("Error on single_logg [dex]")
    single_v_sini = _float("v_sini of this spectrum's own fit [km/s]")
    single_e_v_sini = _float("Error on single_v_sini [km/s]")
    single_m_h = _float("m_h of this spectrum's own fit [dex]")
    single_e_m_h = _float("Error on single_m_h [dex]")
    single_v_rad = _float("v_rad of this spectrum's own fit [km/s]")
    single_result_flags = BitField(null=True, help_text="Result flags of this spectrum's own fit")

    #> Flags
    result_flags = BitField(default=0, help_text="Flags of this spectrum in the joint fit")

    class Meta:
        table_name = "zeta_payne_visit"
        indexes = ((("source_task_pk", "spectrum_index"), True),)
# fmt: on


# The flag columns, one per ResultFlags bit, so the ORM never drifts from the fitter's flags.
for _model in (ZetaPayneSource, ZetaPayneVisit):
    for _flag in ResultFlags:
        setattr(
            _model,
            f"flag_{_flag.name.lower()}",
            _model.result_flags.flag(int(_flag), help_text=flag_help(_flag.name.lower())),
        )
del _model, _flag
