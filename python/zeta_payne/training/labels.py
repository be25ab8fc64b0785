"""The labels a bundle is trained on, in network input order, and their units."""

from __future__ import annotations

__all__ = ["LABELS", "UNITS"]

#: Labels of a bundle without a v_micro response, in network input order (v_micro follows).
LABELS = ("teff", "logg", "v_sini", "m_h")
UNITS = {"teff": "K", "logg": "dex", "v_sini": "km/s", "m_h": "dex", "v_micro": "km/s"}
