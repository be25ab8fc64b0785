"""The software record kept beside results."""

import numpy as np

from zeta_payne.environment import describe, differences, package_versions


def test_the_record_names_the_numerical_packages_installed():
    rec = package_versions()
    assert rec["numpy"] == np.__version__ and rec["python"].count(".") == 2
    assert package_versions(["no-such-package-zp"])["no-such-package-zp"] is None
    assert describe(rec).startswith(f"python {rec['python']}, zeta-payne ")
    assert describe(None) == "environment not recorded"


def test_differences_between_two_records():
    a = {"python": "3.11.7", "numpy": "2.4.6", "scipy": "1.17.1"}
    assert differences(a, dict(a)) == {}
    assert differences(a, {**a, "scipy": "1.16.0", "torch": "2.13.0"}) == {
        "scipy": ("1.17.1", "1.16.0"), "torch": (None, "2.13.0")}
    assert differences(None, a) == {"environment": ("not recorded", "recorded")}


def test_the_machine_record_names_the_processor_and_torch_s_vector_instructions():
    import torch

    from zeta_payne.environment import machine

    rec = machine()
    assert rec["cpu"] and rec["cores"] >= 1
    assert rec["isa"] == str(torch.backends.cpu.get_cpu_capability())
