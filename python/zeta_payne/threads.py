"""One core per worker: thread pinning and worker lifetime shared by every process pool.

A worker process that lets OpenBLAS or torch start one thread per core oversubscribes the
machine as soon as two workers run: on the 2-core development machine the validation
workers ran 3.4× slower per fit than one pinned process (measured, ``CHANGELOG.md``).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["THREAD_VARIABLES", "child_environment", "exit_with_parent", "pin_threads"]

#: Environment variables read by the BLAS and OpenMP runtimes when they start.
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


def pin_threads(n: int = 1, torch: bool = True) -> None:
    """Limit this process to ``n`` compute threads.

    Sets the thread variables (unless the user set them) for runtimes not yet started,
    limits the BLAS/OpenMP pools already loaded (``threadpoolctl``) and torch's intra-op pool.

    Parameters
    ----------
    n : int
        Threads.
    torch : bool
        Also call ``torch.set_num_threads(n)`` (imports torch).
    """
    for var in THREAD_VARIABLES:
        os.environ.setdefault(var, str(n))
    from threadpoolctl import threadpool_limits

    threadpool_limits(n)
    if torch:
        import torch as _torch

        _torch.set_num_threads(n)


@contextmanager
def child_environment(n: int = 1) -> Iterator[None]:
    """Within the block, spawned children start with ``n`` threads per runtime.

    The variables are restored afterwards, so the parent's own setting is untouched.
    """
    saved = {var: os.environ.get(var) for var in THREAD_VARIABLES}
    os.environ.update({var: str(n) for var in THREAD_VARIABLES})
    try:
        yield
    finally:
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value


def exit_with_parent(poll_seconds: float = 1.0) -> threading.Thread:
    """Start a daemon thread that ends this worker process when its parent is gone.

    A pool's parent that is killed (SIGTERM, SIGKILL, a closed terminal) cannot shut its
    workers down; without this they would keep computing as orphans.

    Returns
    -------
    threading.Thread
        The watchdog (already started).
    """
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(poll_seconds)
            if os.getppid() != parent:
                os._exit(1)

    thread = threading.Thread(target=watch, name="exit-with-parent", daemon=True)
    thread.start()
    return thread
