import json

import numpy as np
import pytest
import torch

from zeta_payne.bundles import load_bundle
from zeta_payne.bundles.legacy import import_legacy
from zeta_payne.bundles.registry import resolve_bundle_path
from zeta_payne.exceptions import BundleError
from zeta_payne.model.emulator import Emulator
from zeta_payne.model.wavelength import air_to_vacuum


def test_round_trip_and_hash(toy_boss, tmp_path):
    again = load_bundle(toy_boss.path)
    assert again.sha256 == toy_boss.sha256
    assert again.manifest.label_names == ("teff", "logg", "v_sini", "v_micro", "m_h")
    x = torch.tensor([[12000.0, 4.0, 100.0, 2.0, 0.0]], dtype=torch.float64)
    assert torch.allclose(again.emulator()(x), toy_boss.emulator()(x))
    assert resolve_bundle_path(toy_boss.path) == toy_boss.path


def test_half_precision_output_layer(toy_boss, tmp_path):
    from zeta_payne.bundles.bundle import save_bundle

    half = save_bundle(tmp_path / "half", toy_boss.manifest, toy_boss.weights, storage_dtype="float16")
    assert half.manifest.network["output_layer_dtype"] == "float16"
    size = (tmp_path / "half" / "weights.npz").stat().st_size
    assert size < 0.6 * (toy_boss.path / "weights.npz").stat().st_size
    again = load_bundle(tmp_path / "half")
    assert again.weights.weights[-1].dtype == np.float32  # computed in float32
    x = torch.tensor([[12000.0, 4.0, 100.0, 2.0, 0.0], [7000.0, 3.5, 20.0, 1.0, -0.5]])
    diff = (again.emulator()(x) - toy_boss.emulator()(x)).abs()
    assert 0 < float(diff.max()) < 5e-3  # rounded, not lost
    with pytest.raises(BundleError, match="storage_dtype"):
        save_bundle(tmp_path / "bad", toy_boss.manifest, toy_boss.weights, storage_dtype="int8")


def test_tampered_payload_is_rejected(toy_boss, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(toy_boss.path, copy)
    data = bytearray((copy / "weights.npz").read_bytes())
    data[-100] ^= 0xFF
    (copy / "weights.npz").write_bytes(bytes(data))
    with pytest.raises(BundleError, match="sha256"):
        load_bundle(copy)


def test_bad_schema_is_rejected(toy_boss, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(toy_boss.path, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["schema_version"] = 99
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="schema_version"):
        load_bundle(copy)
    with pytest.raises(BundleError, match="not a bundle"):
        load_bundle(tmp_path)


def test_jacobian_matches_autograd(toy_boss):
    emu = Emulator.from_weights(toy_boss.weights, dtype=torch.float64)
    x = torch.tensor([9000.0, 3.7, 55.0, 2.0, -0.3], dtype=torch.float64)
    flux, jac = emu.forward_with_jacobian(x)
    auto = torch.autograd.functional.jacobian(emu, x)
    assert torch.allclose(flux, emu(x))
    assert torch.allclose(jac, auto, atol=1e-10)


def _write_legacy(path, n_labels=4, with_grid=True):
    rng = np.random.default_rng(0)
    wave_air = np.arange(4500.0, 4600.0, 0.05)
    h = 16
    arrays = {
        "w_array_0": rng.normal(size=(h, n_labels)).astype(np.float32),
        "b_array_0": rng.normal(size=h).astype(np.float32),
        "w_array_1": rng.normal(size=(h, h)).astype(np.float32),
        "b_array_1": rng.normal(size=h).astype(np.float32),
        "w_array_2": (0.01 * rng.normal(size=(wave_air.size, h))).astype(np.float32),
        "b_array_2": np.ones(wave_air.size, dtype=np.float32),
        "x_min": np.array([6000, 3.0, 0, -0.8][:n_labels], dtype=float),
        "x_max": np.array([25000, 5.0, 400, 0.8][:n_labels], dtype=float),
        "wave": wave_air,
    }
    if with_grid:
        grid = {
            "T_eff": [6000, 25000],
            "log(g)": [3.0, 5.0],
            "v*sin(i)": [0, 400],
            "v_micro": [2.0, 2.0],
            "[M/H]": [-0.8, 0.8],
        }
        arrays["grid"] = np.array(grid, dtype=object)
    np.savez(path, **arrays)
    return arrays


def test_legacy_import_preserves_the_network(tmp_path):
    arrays = _write_legacy(tmp_path / "NN_legacy.npz")
    bundle = import_legacy(tmp_path / "NN_legacy.npz", tmp_path / "b", "boss")
    assert bundle.manifest.label_names == ("teff", "logg", "v_sini", "m_h")
    assert bundle.manifest.provenance["grid"]["v_micro"] == [2.0, 2.0]
    # the bundle's output, on its vacuum ln λ grid, equals the original network interpolated
    x = np.array([11000.0, 4.1, 120.0, 0.1])
    orig = Emulator.from_weights(load_bundle(tmp_path / "b").weights, torch.float64)
    from zeta_payne.model.emulator import EmulatorWeights

    legacy = Emulator.from_weights(EmulatorWeights.from_arrays(arrays), torch.float64)
    f_legacy = legacy(torch.as_tensor(x)).detach().numpy()
    f_bundle = orig(torch.as_tensor(x)).detach().numpy()
    wave_vac = air_to_vacuum(arrays["wave"])
    assert np.allclose(np.interp(bundle.grid.wavelength, wave_vac, f_legacy), f_bundle, atol=1e-5)


def test_legacy_without_grid_and_malicious_pickle(tmp_path):
    _write_legacy(tmp_path / "plain.npz", with_grid=False)
    b = import_legacy(tmp_path / "plain.npz", tmp_path / "b", "apogee")
    assert b.manifest.label_names == ("teff", "logg", "v_sini", "m_h")

    class Evil:
        def __reduce__(self):
            return (print, ("owned",))

    arrays = dict(np.load(tmp_path / "plain.npz"))
    arrays["grid"] = np.array([Evil()], dtype=object)
    np.savez(tmp_path / "evil.npz", **arrays)
    with pytest.raises(BundleError, match="safely"):
        import_legacy(tmp_path / "evil.npz", tmp_path / "c", "boss")
    with pytest.raises(BundleError, match="missing"):
        np.savez(tmp_path / "junk.npz", a=np.zeros(3))
        import_legacy(tmp_path / "junk.npz", tmp_path / "d", "boss")
