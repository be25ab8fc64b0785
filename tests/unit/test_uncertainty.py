import numpy as np

from zeta_payne.fitting.uncertainty import chi2_one_sigma, covariance, n_degrees, parabola_error


def test_paper_equations():
    n = n_degrees(2000, 4500, 10170)
    assert np.isclose(n, 4 * 2000 * 5670 / 14670)
    assert np.isclose(chi2_one_sigma(n), 1 + np.sqrt(2 / n))


def test_parabola_matches_brute_force_scan():
    # χ²(θ) of a linear model y = θ x with Gaussian noise is an exact parabola
    rng = np.random.default_rng(1)
    x = np.linspace(0, 1, 400)
    y = 2.0 * x + rng.normal(0, 0.1, x.size)
    w = np.full(x.size, 100.0)

    def chi2(theta):
        return np.sum(w * (y - theta * x) ** 2)

    best = np.sum(w * x * y) / np.sum(w * x * x)
    level = chi2_one_sigma(n_degrees(2000, 4500, 10170))
    pts = best + np.array([-0.05, -0.02, 0, 0.02, 0.05])
    par = parabola_error(pts, [chi2(p) for p in pts], level)
    # brute force: where the scanned χ² crosses level × χ²_min
    grid = np.linspace(best - 1, best + 1, 200001)
    values = np.array([chi2(g) for g in grid[::100]])
    fine = np.interp(grid, grid[::100], values)
    inside = grid[fine <= level * chi2(best)]
    brute = 0.5 * (inside.max() - inside.min())
    assert par.convex
    assert np.isclose(par.error, brute, rtol=2e-3)
    assert np.isclose(par.vertex, best, atol=1e-9)


def test_nonconvex_detected():
    par = parabola_error([0, 1, 2, 3, 4], [10, 12, 13, 12, 10], 1.01)
    assert not par.convex and np.isnan(par.error)


def test_covariance_of_linear_fit():
    rng = np.random.default_rng(2)
    j = rng.normal(size=(500, 3))
    cov = covariance(j, 1.0)
    assert np.allclose(cov, np.linalg.inv(j.T @ j))
    assert np.allclose(covariance(j, 2.0), 2 * cov)
