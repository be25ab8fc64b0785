"""Worker processes run one thread each and do not outlive their parent."""

import multiprocessing as mp
import os
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ProcessPoolExecutor

from zeta_payne.threads import THREAD_VARIABLES, child_environment


def _blas_threads() -> int:
    import numpy  # noqa: F401 - loads the BLAS runtime
    from threadpoolctl import threadpool_info

    return max((pool["num_threads"] for pool in threadpool_info()), default=1)


def _running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie (an exited child nobody has reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_child_environment_pins_spawned_workers_and_restores(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "7")
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    with child_environment(1), ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
        assert pool.submit(_blas_threads).result() == 1
    assert os.environ["OMP_NUM_THREADS"] == "7"
    assert "OPENBLAS_NUM_THREADS" not in os.environ
    assert "OMP_NUM_THREADS" in THREAD_VARIABLES


def test_worker_exits_when_its_parent_is_killed(tmp_path):
    # parent -> child (watchdog) ; SIGKILL the parent, the child must go within seconds
    pid_file = tmp_path / "child.pid"
    script = textwrap.dedent(
        f"""
        import multiprocessing as mp, time
        from zeta_payne.threads import exit_with_parent

        def child(path):
            exit_with_parent(poll_seconds=0.2)
            import os
            open(path, "w").write(str(os.getpid()))
            time.sleep(120)

        if __name__ == "__main__":
            p = mp.get_context("spawn").Process(target=child, args=({str(pid_file)!r},))
            p.start()
            time.sleep(120)
        """
    )
    path = tmp_path / "parent.py"
    path.write_text(script)
    parent = subprocess.Popen([sys.executable, str(path)])
    try:
        deadline = time.monotonic() + 60
        while not (pid_file.is_file() and pid_file.read_text()) and time.monotonic() < deadline:
            time.sleep(0.1)
        child = int(pid_file.read_text())
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 10
        alive = True
        while alive and time.monotonic() < deadline:
            alive = _running(child)
            time.sleep(0.1)
        assert not alive, "the worker outlived its killed parent"
    finally:
        parent.kill()
