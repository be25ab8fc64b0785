"""Quality-assurance plots (matplotlib, Agg canvas; no database, no global backend change)."""

from zeta_payne.qa.plots import plot_fit, plot_run

__all__ = ["plot_fit", "plot_run"]
