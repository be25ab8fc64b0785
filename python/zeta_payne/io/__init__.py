"""Readers of spectrum files (npz, SDSS data products) behind one registry."""

from zeta_payne.io.registry import read_spectra, readers, register_reader

__all__ = ["read_spectra", "readers", "register_reader"]
