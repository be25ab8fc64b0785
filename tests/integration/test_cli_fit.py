"""The database-free command line: fit npz spectra, import and verify a legacy network."""

import csv

import numpy as np

from zeta_payne.cli import main
from zeta_payne.io.npz import write_npz

from ..conftest import BOSS_WAVELENGTH, simulate


def test_fit_npz_to_csv(toy_boss, tmp_path, capsys):
    truth = np.array([13000.0, 4.1, 120.0, 2.0, -0.2])
    s = simulate(toy_boss, BOSS_WAVELENGTH, truth, -8.0, snr=60, seed=2)
    good = tmp_path / "good.npz"
    write_npz(good, s.wavelength, s.flux, s.ivar, wresl=s.wavelength / 2000.0,
              pixel_flags=np.zeros(s.wavelength.size, int), name="star-1")
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"PK\x03\x04 not really a zip")
    zero = tmp_path / "zero.npz"
    write_npz(zero, s.wavelength, s.flux, np.zeros_like(s.ivar))
    out = tmp_path / "results.csv"
    status = main(["fit", str(good), str(corrupt), str(zero), "--bundle", str(toy_boss.path),
                   "--presearch-points", "512", "-o", str(out)])
    assert status == 1  # one file could not be read: reported, no row
    assert f"skipped {corrupt}" in capsys.readouterr().err
    rows = list(csv.DictReader(open(out)))
    assert len(rows) == 2  # one row per fitted spectrum
    first = rows[0]
    assert first["identifier"] == "star-1" and first["file"] == str(good) and first["instrument"] == "boss"
    assert abs(float(first["teff"]) - 13000) < 300 and abs(float(first["v_rad"]) + 8) < 3
    assert int(first["result_flags"]) & 0b1 == 0
    assert "no_pixels" in rows[1]["flag_names"] and rows[1]["flag_bad"] == "True"


def test_legacy_network_imports_verifies_and_fits(tmp_path, capsys):
    """An authors'-format network (air wavelengths, 4 labels, pickled grid) works unchanged."""
    from zeta_payne.bundles import load_bundle
    from zeta_payne.bundles.toy import toy_weights
    from zeta_payne.fitting import FitOptions, Fitter
    from zeta_payne.model.wavelength import vacuum_to_air

    wave_air = np.arange(4450.0, 5600.0, 0.05)  # the authors' linear 0.05 Å air grid
    w = toy_weights(wave_air, 32, 60, 4, 5, [6000, 3.0, 0, -0.8], [25000, 5.0, 400, 0.8])
    arrays = {**w.as_arrays(), "wave": wave_air,
              "grid": np.array({"T_eff": [6000, 25000], "log(g)": [3, 5], "v*sin(i)": [0, 400],
                                "v_micro": [2, 2], "[M/H]": [-0.8, 0.8]}, dtype=object)}
    np.savez(tmp_path / "NN_authors.npz", **arrays)
    assert main(["bundle", "import-legacy", str(tmp_path / "NN_authors.npz"), "--instrument", "boss",
                 "--out", str(tmp_path / "legacy")]) == 0
    assert main(["bundle", "verify", str(tmp_path / "legacy")]) == 0
    assert '"ok": true' in capsys.readouterr().out
    bundle = load_bundle(tmp_path / "legacy")
    assert bundle.grid.resolution is None and bundle.manifest.provenance["source_medium"] == "air"
    # a spectrum made by the ORIGINAL network on its air grid, observed in vacuum, fits
    import torch

    from zeta_payne.model.emulator import Emulator

    truth = np.array([9000.0, 3.8, 40.0, 0.3])
    net = Emulator.from_weights(w, torch.float64)
    flux_air = net(torch.as_tensor(truth)).detach().numpy()
    from zeta_payne.model.wavelength import air_to_vacuum
    from zeta_payne.validation.simulate import observe

    vac = air_to_vacuum(wave_air)
    grid = np.exp(np.linspace(np.log(vac[0]), np.log(vac[-1]), vac.size))
    spectrum, _ = observe(grid, np.interp(grid, vac, flux_air), None, "boss", 5.0, None,
                          np.random.default_rng(1))
    assert np.allclose(vacuum_to_air(air_to_vacuum(wave_air)), wave_air)
    fitter = Fitter(bundle, FitOptions(wavelength_range=(4500.0, 5550.0), presearch_points=1024))
    r = fitter.fit(spectrum)
    assert not r.flag_bad, r.flag_names
    assert abs(r.labels[0] - truth[0]) < 150 and abs(r.v_rad - 5.0) < 2


def test_fit_takes_the_frame_from_the_file_or_the_option(toy_boss, tmp_path):
    """An observed-frame npz at RV 230 km/s is found by the wide search, missed by the rest-frame one."""
    from zeta_payne.io.npz import read_npz

    truth = np.array([11000.0, 4.0, 60.0, 2.0, 0.1])
    s = simulate(toy_boss, BOSS_WAVELENGTH, truth, 230.0, snr=80, seed=3)
    observed = tmp_path / "observed.npz"
    write_npz(observed, s.wavelength, s.flux, s.ivar, wresl=s.wavelength / 2000.0, name="far",
              frame="observed")
    assert read_npz(observed)[0].frame == "observed"
    out = tmp_path / "out.csv"
    common = ["--bundle", str(toy_boss.path), "--presearch-points", "1024", "-o", str(out)]
    assert main(["fit", str(observed), *common]) == 0
    (row,) = csv.DictReader(open(out))
    assert row["frame"] == "observed" and abs(float(row["v_rad"]) - 230.0) < 3.0
    assert "rv_at_search_edge" not in row["flag_names"]
    assert {"raw_e_teff", "cov_e_teff", "raw_e_v_rad", "cov_e_v_rad", "lsf_source"} <= set(row)
    assert row["e_teff"] == row["raw_e_teff"]  # not calibrated: e_ is the raw error
    # told it is in the rest frame, the narrow search cannot reach 230 km/s
    assert main(["fit", str(observed), "--frame", "rest", "--overwrite", *common]) == 0
    (row,) = csv.DictReader(open(out))
    assert row["frame"] == "rest" and "rv_at_search_edge" in row["flag_names"]


def test_mwmstar_with_both_instruments_and_one_bundle(toy_boss, toy_apogee, tmp_path, capsys):
    """A file holding a BOSS and an APOGEE spectrum, fitted with a BOSS bundle only: the APOGEE
    spectrum is skipped with a message, the BOSS one is fitted (spectra of different lengths
    once made the skip crash)."""
    from tests.astra.fixtures import spectrum_row, write_star

    path = write_star(tmp_path, 90000042, [spectrum_row(toy_boss, "boss", 0),
                                           spectrum_row(toy_apogee, "apogee", 1)])
    out = tmp_path / "both.csv"
    status = main(["fit", str(path), "--bundle", str(toy_boss.path), "--presearch-points", "512",
                   "-o", str(out)])
    assert status == 0
    assert "skipped 1 apogee spectra" in capsys.readouterr().err
    rows = list(csv.DictReader(open(out)))
    assert [r["instrument"] for r in rows] == ["boss"]


def test_fit_help_gives_the_default_bundles_own_fit_defaults(capsys, monkeypatch):
    """The help's default values are read from the bundles the CLI would use, so a new bundle
    cannot leave them stale (they once said 4500-10170 Å and 15 terms for BOSS 3.2.6)."""
    import json

    from zeta_payne.bundles.registry import resolve_bundle_path

    assert main(["fit", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for instrument in ("boss", "apogee"):
        defaults = json.loads((resolve_bundle_path(instrument) / "manifest.json").read_text())["fit_defaults"]
        lo, hi = defaults["wavelength_range"]
        assert f"{instrument.upper()} {lo:.0f}-{hi:.0f}" in text
        assert f"{instrument.upper()} {defaults['n_chebyshev']}" in text
    # no bundle to be found: the help says nothing of their values and still works
    from zeta_payne.bundles import registry
    from zeta_payne.cli.fit import shipped_default
    from zeta_payne.exceptions import BundleError

    def missing(spec, search_paths=None):
        raise BundleError(f"no bundle {spec!r}")

    monkeypatch.setattr(registry, "resolve_bundle_path", missing)
    assert shipped_default("n_chebyshev") == ""
    assert main(["fit", "--help"]) == 0
    assert "Chebyshev terms of the response --presearch-points" in " ".join(capsys.readouterr().out.split())


def test_the_command_line_starts_without_torch():
    """Building the parser (help from the bundles' manifests included) and finding bundles load
    no network: torch is imported only to load one. Under the real ASTRA this matters twice:
    its models import several times slower once torch is loaded (its flag fields inspect every
    loaded module), and every `zeta-payne db` command imports them."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from zeta_payne.cli import main\n"
        "assert main(['fit', '--help']) == 0\n"
        "from zeta_payne.bundles.registry import resolve_bundle_path\n"
        "resolve_bundle_path('boss')\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
        "from zeta_payne.bundles import load_bundle\n"
        "load_bundle(resolve_bundle_path('boss'))\n"
        "assert 'torch' in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
