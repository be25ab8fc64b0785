"""Untrusted inputs that are not spectra: SQL built only by the ORM with parameters, schema
names checked before they reach DDL, bundles hash-verified and loaded without pickle."""

from __future__ import annotations

import ast
import json
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

import zeta_payne.astra
from zeta_payne.astra.database import (
    DatabaseConfigError,
    bind_database,
    check_schema,
    open_database,
    parse_url,
)
from zeta_payne.bundles import load_bundle
from zeta_payne.bundles.bundle import sha256_file
from zeta_payne.exceptions import BundleError

ASTRA_SOURCE = Path(zeta_payne.astra.__file__).parent


def _raw_sql_calls() -> list[tuple[str, int, str]]:
    """Calls of ``execute_sql``/``SQL``/``raw`` in the plugin whose SQL is not a constant string."""
    found = []
    for path in sorted(ASTRA_SOURCE.rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            if name not in ("execute_sql", "SQL", "raw") or not node.args:
                continue
            first = node.args[0]
            if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                found.append((path.name, node.lineno, ast.unparse(first)))
    return found


def test_plugin_sql_is_constant_or_a_checked_identifier():
    # the one exception: CREATE SCHEMA with a name that passed check_schema (DDL takes no parameters)
    assert _raw_sql_calls() == [
        ("database.py", _line("database.py", "CREATE SCHEMA"), "f'CREATE SCHEMA IF NOT EXISTS \"{schema}\"'")
    ]


def _line(name: str, text: str) -> int:
    lines = (ASTRA_SOURCE / name).read_text().splitlines()
    return next(i for i, line in enumerate(lines, start=1) if text in line)


@pytest.mark.parametrize("schema", ['x"; DROP TABLE source; --', "a b", "1abc", "é", "x" * 64, ""])
def test_schema_names_are_checked(schema, tmp_path):
    with pytest.raises(DatabaseConfigError, match="invalid schema name"):
        check_schema(schema)
    db = open_database(parse_url(f"sqlite:///{tmp_path / 'x.sqlite'}"))
    with pytest.raises(DatabaseConfigError):
        bind_database(db, schema)
    assert check_schema("astra_080") == "astra_080" and check_schema(None) is None


def test_hostile_values_are_stored_as_parameters(database, products):
    from zeta_payne.astra import compat
    from zeta_payne.astra.ops.ingest import ingest_files

    (spectrum,) = ingest_files([products["good_boss_1"]], chosen_class="oba").spectra
    evil = "x'); DROP TABLE zeta_payne; --"
    model = type(spectrum)
    model.update(release=evil).where(model.pk == spectrum.pk).execute()
    assert model.get_by_id(spectrum.pk).release == evil
    assert model.select().where(model.release == evil).count() == 1
    assert compat.Source.select().count() == 1


def _resign(folder: Path) -> None:
    manifest_path = folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    key = next(k for k in manifest if isinstance(manifest[k], dict) and "weights.npz" in manifest[k])
    manifest[key]["weights.npz"] = sha256_file(folder / "weights.npz")
    manifest_path.write_text(json.dumps(manifest))


def test_bundle_weights_with_pickled_objects_are_refused(toy_boss, tmp_path):
    copy = tmp_path / "bundle"
    shutil.copytree(toy_boss.path, copy)
    with np.load(copy / "weights.npz") as npz:
        arrays = {k: npz[k] for k in npz.files}
    first = next(iter(arrays))
    arrays[first] = np.array([object()], dtype=object)  # saved with pickle
    np.savez(copy / "weights.npz", **arrays)
    _resign(copy)  # a valid hash: only the no-pickle rule stands in the way
    with pytest.raises(BundleError, match="pickle"):
        load_bundle(copy)


def test_bundle_that_is_a_pickle_is_refused(toy_boss, tmp_path):
    copy = tmp_path / "bundle"
    shutil.copytree(toy_boss.path, copy)
    (copy / "weights.npz").write_bytes(pickle.dumps({"w_array_0": [1, 2, 3]}))
    with pytest.raises(BundleError, match="sha256"):
        load_bundle(copy)
    _resign(copy)
    with pytest.raises(BundleError, match="cannot read weights"):
        load_bundle(copy)
