"""The stand-in keeps the real ASTRA contract, so a test that passes on it means something.

Compared with real ASTRA ``dev`` where it is installed (skipped elsewhere): table names,
columns, NOT NULL columns of the models ingest registers, path templates, pixel accessors.
The stand-in's documented extensions are listed here, each with its reason.
"""

from __future__ import annotations

import importlib

import pytest

from zeta_payne.astra import compat, standin
from zeta_payne.astra.ops.ingest import required_columns

pytestmark = pytest.mark.skipif(
    not compat.HAVE_ASTRA, reason="real ASTRA (sdss-astra dev) is not installed here"
)

#: Stand-in columns that real ASTRA does not have, and why.
EXTENSIONS = {
    "file_path": "a local file outside the SAS tree (real ASTRA: path template only)",
    "row_index": "the row of a multi-spectrum file (real ASTRA: implied by the model)",
    "sdss5_programs": "carton programs as text (real ASTRA: sdss5_target_flags, PostgreSQL only)",
    "snr": "the S/N of an apStar visit (real ASTRA's ApogeeVisitSpectrumInApStar has none)",
}
#: Models whose rows ingest registers: their NOT NULL columns must match exactly.
REGISTERED = ("BossCombinedSpectrum", "ApogeeCombinedSpectrum")
NAMES = (
    "Source", "Spectrum", "BossVisitSpectrum", "BossCombinedSpectrum", "BossRestFrameVisitSpectrum",
    "ApogeeCombinedSpectrum", "ApogeeRestFrameVisitSpectrum", "ApogeeCoaddedSpectrumInApStar",
    "ApogeeVisitSpectrumInApStar", "ApogeeVisitSpectrum", "PipelineOutputModel",
)


def _pairs():
    for name in NAMES:
        yield name, getattr(standin, name), getattr(compat, name)


@pytest.mark.parametrize("name", NAMES)
def test_tables_and_columns(name):
    ours, real = getattr(standin, name), getattr(compat, name)
    assert ours._meta.table_name == real._meta.table_name
    ours_columns = {f.column_name for f in ours._meta.sorted_fields}
    if hasattr(real, "spectrum_pk"):
        assert ours.spectrum_pk.column_name == real.spectrum_pk.column_name
    real_columns = {f.column_name for f in real._meta.sorted_fields}
    unknown = ours_columns - real_columns - set(EXTENSIONS)
    assert not unknown, f"stand-in {name} has columns real ASTRA lacks: {sorted(unknown)}"


@pytest.mark.parametrize("name", REGISTERED)
def test_not_null_columns_of_registered_models(name):
    ours, real = getattr(standin, name), getattr(compat, name)
    assert set(required_columns(ours)) == set(required_columns(real))


@pytest.mark.parametrize("name", REGISTERED)
def test_path_templates_and_pixel_accessors(name):
    ours, real = getattr(standin, name), getattr(compat, name)
    values = {"v_astra": "0.8.0", "sdss_id": 123456, "telescope": "apo25m", "release": "sdss5"}
    assert ours(**values).path == real(**values).path
    for array in ("wavelength", "flux", "ivar", "pixel_flags", "wresl"):
        assert hasattr(ours, array) == hasattr(real, array), array


def test_decorator_insert_semantics_match():
    """Both decorators insert rows from ``__data__`` (column list of the first row)."""
    source = importlib.import_module("zeta_payne.astra.standin.task")
    assert "insert_many(data)" in importlib.util.find_spec(source.__name__).loader.get_source(source.__name__)
