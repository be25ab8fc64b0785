"""Loading classifier probabilities from a table (the routing input ASTRA dev does not make)."""

from __future__ import annotations

import pytest
from astropy.table import Table

from tests.astra.fixtures import register_spectrum
from zeta_payne.astra import compat
from zeta_payne.astra.ops.classify import load_classifications, read_probability_table
from zeta_payne.astra.routing import Routing, RoutingDataMissing, check_routing, routed_query
from zeta_payne.cli import main
from zeta_payne.exceptions import ZetaPayneError


def test_classifier_rows_from_csv_and_fits_route_spectra(database, tmp_path):
    boss = [register_spectrum() for _ in range(3)]
    apogee = register_spectrum(model=compat.ApogeeCombinedSpectrum, sdss_id=88_000_001)
    model = compat.BossCombinedSpectrum
    with pytest.raises(RoutingDataMissing, match="spectrum_classification is empty"):
        check_routing(Routing(program=None))
    csv = tmp_path / "p.csv"
    csv.write_text(
        "spectrum_pk,sdss_id,instrument,p_oba,p_fgkm\n"
        f"{boss[0].spectrum_pk},,,0.9,0.1\n"  # routed
        f"{boss[1].spectrum_pk},,,0.0,1.0\n"  # not: oba has p = 0
        ",999999999,,1.0,0\n"  # no such source
        f"{boss[2].spectrum_pk},,,abc,1\n"  # invalid
    )
    report = load_classifications(read_probability_table(csv))
    assert (report.rows, report.classified, len(report.unmatched), len(report.invalid)) == (4, 2, 1, 1)
    assert [s.spectrum_pk for s in routed_query(model, Routing(program=None))] == [boss[0].spectrum_pk]
    # by source, narrowed to one instrument, from a FITS table; loading again replaces rows
    fits = tmp_path / "p.fits"
    source_id = 88_000_001
    Table({"sdss_id": [source_id], "instrument": ["apogee"], "p_oba": [0.7], "p_wd": [0.3]}).write(fits)
    assert load_classifications(read_probability_table(fits)).classified == 1
    routed = routed_query(compat.ApogeeCombinedSpectrum, Routing(program=None))
    assert [s.spectrum_pk for s in routed] == [apogee.spectrum_pk]
    assert load_classifications(read_probability_table(csv)).classified == 2
    assert compat.SpectrumClassification.select().count() == 3


def test_bad_tables_are_refused_with_the_reason(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("id,p_oba\n1,1\n")
    with pytest.raises(ZetaPayneError, match="spectrum_pk or an sdss_id"):
        read_probability_table(path)
    path.write_text("sdss_id,prob\n1,1\n")
    with pytest.raises(ZetaPayneError, match="p_<class>"):
        read_probability_table(path)


def test_classify_command(database_url, tmp_path, capsys):
    assert main(["init", "--with-inputs", "--database", database_url]) == 0
    path = tmp_path / "p.csv"
    path.write_text("sdss_id,p_oba\n123,1\n")
    assert main(["classify", str(path), "--database", database_url]) == 1  # nothing matched
    assert "1 rows matched no spectrum" in capsys.readouterr().out
