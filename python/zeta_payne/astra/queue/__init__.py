"""The work queue: many workers fitting one database's pending spectra exactly once.

* :mod:`~zeta_payne.astra.queue.claims` — workers and their claims (tables and SQL);
* :mod:`~zeta_payne.astra.queue.worker` — claim, fit, commit, until no work is left;
* :mod:`~zeta_payne.astra.queue.parallel` — worker processes on one machine;
* :mod:`~zeta_payne.astra.queue.slurm` — job arrays;
* :mod:`~zeta_payne.astra.queue.retry`, :mod:`~zeta_payne.astra.queue.connection` — database
  faults: transient errors retried, the rest raised at once;
* :mod:`~zeta_payne.astra.queue.throughput`, :mod:`~zeta_payne.astra.queue.summary` — progress,
  rate and row counts.
"""
