"""The line-depth pixel selection of the real-star diagnosis variants."""

import numpy as np

from zeta_payne.spectrum import Spectrum
from zeta_payne.validation.diagnosis import VARIANTS, _masked


def test_masked_keeps_only_pixels_in_the_depth_range():
    wave = np.linspace(5000.0, 5010.0, 11)
    spectrum = Spectrum(wave, np.ones(11), np.ones(11), pixel_mask=np.r_[True, np.zeros(10, bool)])
    template = (np.linspace(4990.0, 5020.0, 31), np.linspace(0.0, 0.3, 31))  # depth 0.1 at 5000 Å
    weak = _masked(spectrum, template, (0.0, 0.125))
    # depth 0.10 + 0.01/Å: pixels up to 5002 Å are kept, the flagged first pixel stays masked
    assert weak.pixel_mask.tolist() == [True, False, False] + [True] * 8
    strong = _masked(spectrum, template, (0.125, 1.0))
    assert strong.pixel_mask[:3].all() and not strong.pixel_mask[3:].any()
    assert spectrum.pixel_mask.sum() == 1  # the input is not changed


def test_depth_variants_are_registered():
    assert {"mask_depth"} <= set().union(*[set(v) for v in VARIANTS.values()])


def test_masked_windows_masks_the_windows_only():
    from zeta_payne.validation.diagnosis import _masked_windows

    wave = np.linspace(4800.0, 4900.0, 101)
    spectrum = Spectrum(wave, np.ones(101), np.ones(101))
    masked = _masked_windows(spectrum, [(4850.0, 4860.0)])
    assert masked.pixel_mask.sum() == 11 and masked.pixel_mask[50:61].all()
    assert spectrum.pixel_mask is None
