"""A spectrum's batched fit is the same, to the last bit, whatever else is in its batch.

Reprocessing must give the same row for the same spectrum whichever spectra a worker claimed
beside it. Before this was made so, the batch moved fits by up to an error bar
(``docs/validation/diagnosis/repeatability``): the matrix kernels round differently with
the shape of a product, and the network, the sums over padded pixels, the normal equations
and the held refits all saw the whole batch.
"""

import numpy as np
import pytest

from zeta_payne.fitting import Fitter
from zeta_payne.fitting.batched import pixel_bucket

from ..conftest import APOGEE_WAVELENGTH, BOSS_WAVELENGTH
from .test_batched import _options, _spectra

FIELDS = ("labels", "e_labels", "raw_e_labels", "cov_e_labels", "initial_labels", "coeffs")
SCALARS = ("v_rad", "e_v_rad", "cov_e_v_rad", "chi2", "flags", "n_pixels", "n_fev")


def _fits(bundle, spectra, order, batch_size):
    fitter = Fitter(bundle, _options(bundle), batch_size=batch_size)
    return dict(zip(order, fitter.fit_batch([spectra[i] for i in order]), strict=True))


@pytest.mark.parametrize("name", ["toy_boss", "toy_apogee"])
def test_a_spectrums_fit_does_not_depend_on_its_batch_mates(name, request, caplog):
    bundle = request.getfixturevalue(name)
    spectra = _spectra(bundle, BOSS_WAVELENGTH if name == "toy_boss" else APOGEE_WAVELENGTH)
    # spectrum 1 has a masked stretch: another pixel count, fitted in its own length group
    assert len({pixel_bucket(s.usable().sum()) for s in spectra}) > 1
    reference = _fits(bundle, spectra, [0, 1, 2, 3], 4)
    for order, size in (([3, 2, 1, 0], 4), ([0, 1, 2, 3], 2), ([2, 0, 3, 1], 3), ([3], 4), ([1], 4)):
        other = _fits(bundle, spectra, order, size)
        for i in order:
            a, b = reference[i], other[i]
            for field in FIELDS:
                same = np.array_equal(getattr(a, field), getattr(b, field), equal_nan=True)
                assert same, (order, size, i, field)
            for field in SCALARS:
                x, y = getattr(a, field), getattr(b, field)
                assert x == y or (np.isnan(x) and np.isnan(y)), (order, size, i, field, x, y)
    # all of it on the batched path: none fell back to fitting one spectrum at a time
    assert not [r for r in caplog.records if r.levelname == "WARNING"]


def test_pixel_bucket_pads_by_at_most_a_sixteenth_to_a_multiple_of_8():
    assert pixel_bucket(7801) == 7936 and pixel_bucket(3541) == 3584 and pixel_bucket(1) == 8
    n = np.arange(1, 20000)
    padded = np.array([pixel_bucket(k) for k in n])
    assert np.all(padded >= n) and np.all(padded % 8 == 0) and np.all(padded - n <= np.maximum(7, n / 16))
    # the length of a group is its members' own: never more than one length per bucket
    assert np.all(np.diff(padded) >= 0)
