"""Operations on a plugin database: what the ``zeta-payne`` database commands call.

* :mod:`~zeta_payne.astra.ops.ingest` — register SDSS files (and classifier rows);
* :mod:`~zeta_payne.astra.ops.run` — fit the pending spectra in this process;
* :mod:`~zeta_payne.astra.ops.status` — pending / done / failed counts;
* :mod:`~zeta_payne.astra.ops.export` — results to FITS / CSV;
* :mod:`~zeta_payne.astra.ops.qa` — QA plots;
* :mod:`~zeta_payne.astra.ops.demo` — the shipped demo end to end.
"""
