"""The README's "Result flags" section names every flag bit and every BAD bit, so operators
reading it see what a row's ``flag_<name>`` columns can say."""

import re
from pathlib import Path

from zeta_payne.fitting.flags import BAD_MASK, CANONICAL_LABELS, ResultFlags

README = Path(__file__).resolve().parents[2] / "README.md"


def _section() -> str:
    text = README.read_text()
    start = text.index("## Result flags")
    return text[start:text.index("\n## ", start + 1)]


def _documented_as(name: str) -> str:
    """The name as the README writes it: per-label bits as ``<label>_<kind>``."""
    for label in CANONICAL_LABELS:
        if name.startswith(f"{label}_") and name != "v_sini_unresolved":
            return f"<label>_{name[len(label) + 1:]}"
    return name


def test_every_flag_is_named_in_the_readme():
    names = set(re.findall(r"`([a-z0-9_<>]+)`", _section()))
    missing = {_documented_as(f.name.lower()) for f in ResultFlags} - names
    assert not missing, f"README 'Result flags' does not name {sorted(missing)}"


def test_the_bad_bits_are_listed_as_bad_and_no_others():
    bad_sentence = _section().split("`flag_bad` marks unusable")[1].split("`flag_warn`")[0]
    listed = set(re.findall(r"`([a-z0-9_<>]+)`", bad_sentence)) - {"zeta_payne.fitting.flags.BAD_MASK"}
    assert listed == {_documented_as(f.name.lower()) for f in ResultFlags if f & BAD_MASK}
