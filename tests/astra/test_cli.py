"""The database commands of ``zeta-payne`` end to end (SQLite, and PostgreSQL when available)."""

from __future__ import annotations

import csv
import io

import pytest
from astropy.io import fits

from zeta_payne.astra import compat
from zeta_payne.cli import main
from zeta_payne.cli.progress import ProgressBar

CHEAP_BOSS = ["--presearch-points", "64", "--n-chebyshev", "4", "--wavelength-range", "5000", "6000"]
CHEAP_APOGEE = ["--presearch-points", "64", "--n-chebyshev", "4", "--wavelength-range", "15200", "15600"]


def test_database_commands(database_url, products, toy_boss, toy_apogee, tmp_path, capsys):
    db = ["--database", database_url]
    bundles = ["--bundle-boss", str(toy_boss.path), "--bundle-apogee", str(toy_apogee.path)]
    assert main(["init", "--with-inputs", *db]) == 0
    assert main(["ingest", str(products["good_boss_1"].parent), "--class", "oba", *db]) == 0
    out = capsys.readouterr()
    assert "6 new spectra" in out.out and "1 skipped" in out.out
    assert "skipped" in out.err

    assert main(["status", *bundles, *db]) == 0
    out = capsys.readouterr().out
    assert "BossCombinedSpectrum" in out and "ApogeeCombinedSpectrum" in out

    products_dir = str(tmp_path / "products")
    common = ["--no-progress", "--output-dir", products_dir, *bundles, *db]
    assert main(["run", "--instrument", "boss", *CHEAP_BOSS, *common]) == 0
    assert "fitted 4 spectra" in capsys.readouterr().out
    assert main(["run", "--instrument", "apogee", *CHEAP_APOGEE, *common]) == 0
    assert "fitted 2 spectra" in capsys.readouterr().out
    assert main(["run", "--instrument", "boss", *CHEAP_BOSS, *common]) == 0
    assert "fitted 0 spectra" in capsys.readouterr().out
    assert main(["run", "--instrument", "boss", "--limit", "1", "--reprocess", *CHEAP_BOSS, *common]) == 0
    assert "fitted 1 spectra" in capsys.readouterr().out

    assert main(["status", *bundles, *db]) == 0
    out = capsys.readouterr().out
    assert "toy-boss" in out and "toy-apogee" in out

    table = tmp_path / "results.csv"
    assert main(["export", "-o", str(table), *db]) == 0
    with open(table) as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 6
    assert {"sdss_id", "teff", "raw_e_teff", "rho_teff_logg", "bundle_sha256", "flag_names"} <= set(rows[0])
    assert sum("runtime_exception" in r["flag_names"] for r in rows) == 2
    fits_table = tmp_path / "results.fits"
    assert main(["export", "-o", str(fits_table), "--instrument", "boss", *db]) == 0
    with fits.open(fits_table) as hdul:
        data, header = hdul[1].data, hdul[1].header
        assert len(data) == 4
        assert "Stellar Labels" in [str(v) for v in header.values()]
        assert data["chebyshev_coeffs"].shape == (4, 4)

    good = next(r for r in rows if r["flag_names"] in ("", "rv_at_search_edge") and r["teff"])
    assert (
        main(["plot", "fit", "--spectrum-pk", good["spectrum_pk"], "-o", str(tmp_path / "fit.png"), *db]) == 0
    )
    assert main(["plot", "run", "-o", str(tmp_path / "run.png"), *db]) == 0
    assert (tmp_path / "fit.png").stat().st_size > 10_000 and (tmp_path / "run.png").stat().st_size > 10_000


def test_run_without_a_bundle_reports_it(tmp_path, capsys):
    db = ["--database", f"sqlite:///{tmp_path / 'x.sqlite'}"]
    assert main(["init", "--with-inputs", *db]) == 0
    assert (
        main(
            ["run", "--instrument", "boss", "--bundle-boss", str(tmp_path / "missing"), "--no-progress",
             "--no-route", *db]
        )
        == 1
    )
    assert "not run" in capsys.readouterr().err


@pytest.mark.skipif(
    compat.HAVE_ASTRA, reason="real ASTRA binds its own database when imported; the plugin's lookup is unused"
)
def test_no_database_configured(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("ASTRA_DATABASE_PATH", raising=False)
    monkeypatch.setenv("ASTRA_CONFIG_PATH", str(tmp_path / "none.yml"))
    monkeypatch.setenv("HOME", str(tmp_path))
    assert main(["status"]) == 1
    assert "no database configured" in capsys.readouterr().err


def test_database_from_astra_config(tmp_path, monkeypatch):
    from zeta_payne.astra.database import resolve_database

    config = tmp_path / "astra.yml"
    config.write_text(
        "database:\n  dbname: sdss5db\n  user: astra\n  host: db.example\n  port: 5433\n  schema: astra_080\n"
    )
    monkeypatch.delenv("ASTRA_DATABASE_PATH", raising=False)
    monkeypatch.setenv("ASTRA_CONFIG_PATH", str(config))
    spec = resolve_database()
    assert (spec.kind, spec.name, spec.schema) == ("postgresql", "sdss5db", "astra_080")
    assert dict(spec.options) == {"user": "astra", "host": "db.example", "port": 5433}
    monkeypatch.setenv("ASTRA_DATABASE_PATH", str(tmp_path / "a.sqlite"))
    assert resolve_database().kind == "sqlite"
    assert (
        resolve_database("postgresql://u:p%40ss@h:1/db?schema=s").describe()
        == "postgresql://u@h:1/db (schema s)"
    )
    config.write_text("database:\n  path: ~/astra.sqlite\n")
    monkeypatch.delenv("ASTRA_DATABASE_PATH")
    assert resolve_database().name.endswith("astra.sqlite")
    config.write_text("TESTING: true\n")
    assert resolve_database().name == ":memory:"


def test_progress_bar():
    stream = io.StringIO()
    bar = ProgressBar(stream, width=10)
    for done in range(0, 21):
        bar("boss BossCombinedSpectrum", done, 20)
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("boss BossCombinedSpectrum [..........] 0/20")
    assert lines[-1].startswith("boss BossCombinedSpectrum [##########] 20/20")
    assert len(lines) == 11


@pytest.mark.parametrize("url", ["sqlite:///:memory:", "mysql://x/y"])
def test_url_parsing(url):
    from zeta_payne.astra.database import DatabaseConfigError, parse_url

    if url.startswith("mysql"):
        with pytest.raises(DatabaseConfigError):
            parse_url(url)
    else:
        assert parse_url(url).name == ":memory:"


@pytest.mark.skipif(not compat.HAVE_ASTRA, reason="the stand-in creates every table it reads")
def test_init_with_real_astra_refuses_a_database_without_astras_tables(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'blank.sqlite'}"
    assert main(["init", "--database", url]) != 0
    assert "--with-inputs" in capsys.readouterr().err
    assert main(["init", "--with-inputs", "--database", url]) == 0
