"""Equator-to-pole temperature contrast of a rigidly rotating star (Roche model, von Zeipel).

Why ``FitOptions.rigid_rotation_v_sini_max`` is 300 km/s: the forward model rotates a
uniform-temperature, spherical star (a rotation kernel with linear limb darkening); a real star
near critical rotation is oblate and gravity-darkened, its equator cooler than its poles.
This prints, for rotation rates omega = Omega / Omega_crit, the equatorial velocity as a
fraction of the critical one and the equator-to-pole effective-temperature ratio, then, for
main-sequence masses, the critical velocity and the smallest omega and contrast that a
v sin i of 300 km/s implies (v_eq >= v sin i).

Model: the Roche potential of a point mass, GM/R_p = GM/R_eq + Omega^2 R_eq^2 / 2; critical
rotation Omega_c^2 = GM / R_eq,c^3 with R_eq,c = 3/2 R_p (so v_crit = sqrt(2GM / 3R_p));
effective gravity at the equator g_eq = GM/R_eq^2 - Omega^2 R_eq; von Zeipel's law
T_eff ∝ g_eff^(1/4) for radiative envelopes. The polar radius is taken as the non-rotating
radius. Main-sequence radii R = M^0.57 (solar units; a rough mass-radius relation of
B/A/F dwarfs, good to ~15 %, which moves v_crit by ~7 %).

    python docs/validation/diagnosis/rapid-rotation/roche_contrast.py
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq

V_SUN = 436.8  # sqrt(G M_sun / R_sun) [km/s]


def equatorial_radius(omega: float) -> float:
    """R_eq / R_p at omega = Omega / Omega_c (root of 1 = 1/x + 4/27 omega^2 x^2)."""
    if omega <= 0:
        return 1.0
    return brentq(lambda x: 1.0 / x + 4.0 / 27.0 * omega**2 * x**2 - 1.0, 1.0, 1.5 + 1e-12)


def v_ratio(omega: float) -> float:
    """v_eq / v_crit."""
    return omega * equatorial_radius(omega) / 1.5


def contrast(omega: float) -> float:
    """T_eq / T_pole."""
    x = equatorial_radius(omega)
    return float(max(1.0 / x**2 - 8.0 / 27.0 * omega**2 * x, 0.0) ** 0.25)


def omega_of(ratio: float) -> float:
    """The omega at which v_eq / v_crit = ratio (< 1)."""
    return brentq(lambda w: v_ratio(w) - ratio, 0.0, 1.0)


def main() -> None:
    print("omega  v_eq/v_crit  T_eq/T_pole")
    for w in (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.99):
        print(f"{w:5.2f}  {v_ratio(w):11.3f}  {contrast(w):11.3f}")
    print("\nmass [M_sun]  R_p [R_sun]  v_crit [km/s]  at v_eq = 300 km/s: v_eq/v_crit  omega  T_eq/T_pole")
    for m in (1.4, 1.6, 2.0, 2.5, 3.0, 4.0, 5.0, 7.0, 10.0):
        r = m**0.57
        v_crit = V_SUN * np.sqrt(2.0 * m / (3.0 * r))
        q = 300.0 / v_crit
        w = omega_of(q) if q < 1 else 1.0
        print(f"{m:12.1f}  {r:10.2f}  {v_crit:13.0f}  {q:33.2f}  {w:5.2f}  {contrast(w):11.3f}")


if __name__ == "__main__":
    main()
