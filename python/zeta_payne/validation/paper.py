"""The published figures of Straumit et al. (2022), Tables 2 and 3, for side-by-side reports."""

from __future__ import annotations

__all__ = ["TABLE2", "TABLE2_EDGES", "TABLE3", "TABLE3_RELIABILITY"]

#: Table 3: RMS per instrument, S/N ("inf" = noiseless) and label.
TABLE3: dict[str, dict[str, dict[str, float]]] = {
    "apogee": {
        "inf": {"teff": 707, "logg": 0.07, "v_sini": 14, "m_h": 0.41, "v_rad": 1.67},
        "100": {"teff": 736, "logg": 0.08, "v_sini": 17, "m_h": 0.46, "v_rad": 3.65},
        "50": {"teff": 791, "logg": 0.09, "v_sini": 23, "m_h": 0.50, "v_rad": 6.30},
    },
    "boss": {
        "inf": {"teff": 163, "logg": 0.043, "v_sini": 14, "m_h": 0.10, "v_rad": 0.65},
        "100": {"teff": 177, "logg": 0.044, "v_sini": 15, "m_h": 0.10, "v_rad": 1.29},
        "50": {"teff": 206, "logg": 0.045, "v_sini": 16, "m_h": 0.11, "v_rad": 2.19},
    },
}

#: Table 3: reliability (fraction of spectra with all labels converged).
TABLE3_RELIABILITY: dict[str, dict[str, float]] = {
    "apogee": {"inf": 0.962, "100": 0.965, "50": 0.956},
    "boss": {"inf": 0.956, "100": 0.974, "50": 0.973},
}

#: Table 2 bin edges: true teff [K] and true v_sini [km/s].
TABLE2_EDGES: dict[str, list[float]] = {
    "teff": [6000, 7900, 9800, 11700, 13600, 15500, 17400, 19300, 21200, 23100, 25000],
    "v_sini": [0, 40, 80, 120, 160, 200, 240, 280, 320, 360, 400],
}

#: Table 2 (noiseless): RMS per bin, {instrument: {binned-by: {label: [10 values]}}}.
TABLE2: dict[str, dict[str, dict[str, list[float]]]] = {
    "apogee": {
        "teff": {
            "teff": [670, 579, 269, 249, 354, 563, 908, 1048, 949, 764],
            "logg": [0.15, 0.05, 0.04, 0.03, 0.05, 0.06, 0.06, 0.06, 0.05, 0.07],
            "v_sini": [13, 13, 12, 11, 14, 15, 15, 17, 12, 16],
            "m_h": [0.23, 0.35, 0.32, 0.42, 0.40, 0.43, 0.40, 0.49, 0.41, 0.51],
            "v_rad": [4.5, 1.1, 0.7, 0.7, 0.9, 0.9, 1.1, 1.2, 1.4, 1.4],
        },
        "v_sini": {
            "teff": [709, 643, 644, 653, 728, 764, 821, 657, 609, 776],
            "logg": [0.05, 0.05, 0.08, 0.08, 0.06, 0.07, 0.07, 0.08, 0.06, 0.08],
            "v_sini": [18, 14, 14, 15, 14, 15, 12, 11, 10, 12],
            "m_h": [0.32, 0.30, 0.38, 0.37, 0.41, 0.46, 0.44, 0.38, 0.46, 0.46],
            "v_rad": [0.4, 0.7, 0.6, 0.7, 0.7, 2.1, 1.4, 1.8, 3.5, 2.0],
        },
    },
    "boss": {
        "teff": {
            "teff": [50, 80, 96, 83, 98, 146, 197, 209, 222, 268],
            "logg": [0.09, 0.06, 0.04, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.04],
            "v_sini": [19, 16, 15, 11, 11, 13, 12, 10, 11, 15],
            "m_h": [0.06, 0.11, 0.11, 0.07, 0.11, 0.08, 0.09, 0.09, 0.08, 0.12],
            "v_rad": [1.1, 1.2, 0.5, 0.4, 0.2, 0.2, 0.4, 0.4, 0.3, 0.7],
        },
        "v_sini": {
            "teff": [174, 144, 158, 166, 157, 149, 152, 175, 159, 180],
            "logg": [0.03, 0.04, 0.04, 0.05, 0.04, 0.04, 0.04, 0.05, 0.04, 0.06],
            "v_sini": [19, 16, 15, 16, 8, 9, 9, 10, 9, 10],
            "m_h": [0.08, 0.08, 0.08, 0.11, 0.07, 0.08, 0.09, 0.13, 0.09, 0.11],
            "v_rad": [0.3, 0.4, 0.3, 0.4, 0.6, 0.5, 0.7, 1.0, 0.7, 1.0],
        },
    },
}
