"""Re-export of :class:`zeta_payne.spectrum.Spectrum` (its home below ``fitting`` and ``io``)."""

from zeta_payne.spectrum import FRAMES, Spectrum

__all__ = ["FRAMES", "Spectrum"]
