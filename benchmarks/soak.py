"""Soak test of the claiming workers on a real PostgreSQL server; prints the figures.

1. **Parallel workers** — 4 worker processes over 2,000 spectra (1,900 registered before
   the run, 100 arriving while it runs): every spectrum has exactly one row, none is
   missing, and the workers' committed counts add up to the rows (nothing fitted twice).
2. **SIGKILL** — trials of two worker processes killed with SIGKILL at random moments
   (start-up, mid-batch, mid-commit), then one rerun: zero lost and zero duplicated rows,
   no orphan or temporary product files, no claims left.
3. **PostgreSQL restart** — the server is restarted (``-m fast``, then ``-m immediate``)
   while 2 workers run: the run completes with every row written.
4. **Throughput** — full fitting protocol (the bundle's defaults: 4,000 pre-search points,
   15 Chebyshev terms, uncertainties) with real-size toy bundles (300 hidden units,
   20,000 model pixels) on 2 worker processes, BOSS and APOGEE: spectra per hour.

Scenarios 1–3 use small toy bundles and cheap fit options (they test bookkeeping, not
labels). The script starts its own throwaway PostgreSQL cluster (Debian's ``postgresql``;
as root it runs the server as ``postgres``), unless ``--postgres-url`` names one (then the
restart scenario needs ``--pg-data`` of that server). Usage::

    python benchmarks/soak.py                       # everything (about 15-30 min on 2 busy cores)
    python benchmarks/soak.py --only kill --kill-trials 20
    python benchmarks/soak.py --spectra 400 --throughput-n 2     # a quick look

Run it from the repository root (it uses ``tests/astra/scale.py`` to make the spectra).
"""

from __future__ import annotations

import argparse
import glob
import json
import logging
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.astra.scale import populate  # noqa: E402

from zeta_payne.astra.database import bound_database, parse_url  # noqa: E402
from zeta_payne.astra.model import ZetaPayne  # noqa: E402
from zeta_payne.astra.queue import claims as cl  # noqa: E402
from zeta_payne.astra.queue.parallel import run_workers  # noqa: E402
from zeta_payne.astra.queue.retry import TRANSIENT, reset_connection  # noqa: E402
from zeta_payne.astra.queue.worker import WorkerOptions  # noqa: E402
from zeta_payne.bundles.toy import make_toy_bundle  # noqa: E402

log = logging.getLogger("soak")

#: Bookkeeping fits (both instruments; the fitted range is the instrument's default).
CHEAP = {"presearch_points": 32, "max_nfev": 20, "compute_uncertainties": False, "n_chebyshev": 4}
CHEAP_CLI = ["--presearch-points", "32", "--n-chebyshev", "4"]


# -- PostgreSQL ---------------------------------------------------------------------------------


class Cluster:
    """A throwaway PostgreSQL cluster on 127.0.0.1 (trust authentication)."""

    def __init__(self, port: int, pg_bin: str | None = None) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
        self.bin = pg_bin or (found[-1] if found else "")
        if not os.path.exists(os.path.join(self.bin, "pg_ctl")):
            raise SystemExit("PostgreSQL not found: apt-get install -y postgresql, or pass --postgres-url")
        self.port = port
        self.root = Path(tempfile.mkdtemp(prefix="zeta-payne-soak-pg."))
        self.data = self.root / "data"
        self.log = self.root / "log"

    def _run(self, command: str) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
            full = ["su", "postgres", "-c", command]
        else:
            full = ["bash", "-c", command]
        subprocess.run(full, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)

    def pg_ctl(self, action: str, mode: str = "fast") -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=200"
        self._run(f"{self.bin}/pg_ctl -D {self.data} -o '{options}' -l {self.log} -m {mode} -w {action}")

    def start(self) -> str:
        self._run(f"{self.bin}/initdb -D {self.data} -A trust -U postgres")
        self.pg_ctl("start")
        self._run(f"{self.bin}/createdb -h 127.0.0.1 -p {self.port} -U postgres soak")
        return f"postgresql://postgres@127.0.0.1:{self.port}/soak"

    def stop(self) -> None:
        try:
            self.pg_ctl("stop", "immediate")
        except subprocess.SubprocessError as exc:
            log.warning("stopping PostgreSQL: %s", exc)
        shutil.rmtree(self.root, ignore_errors=True)


# -- helpers ------------------------------------------------------------------------------------


def fresh_schema(base_url: str, name: str) -> str:
    return f"{base_url}?schema=soak_{name}_{uuid.uuid4().hex[:6]}"


def check_rows(expected_pks: set[int]) -> dict[str, int]:
    """Rows per spectrum, missing and duplicated spectra, committed counts, claims left."""
    pks = [int(r.spectrum_pk) for r in ZetaPayne.select(ZetaPayne.spectrum_pk)]
    committed = sum(w.n_done for w in cl.ZetaPayneWorker.select())
    return {
        "spectra": len(expected_pks),
        "rows": len(pks),
        "missing": len(expected_pks - set(pks)),
        "duplicated": len(pks) - len(set(pks)),
        "unexpected": len(set(pks) - expected_pks),
        "committed": committed,
        "claims_left": cl.ZetaPayneClaim.select().count(),
    }


def spectrum_pks() -> set[int]:
    from zeta_payne.astra import compat

    out: set[int] = set()
    for model in compat.SPECTRUM_MODELS:
        out |= {int(r.spectrum_pk) for r in model.select(model.spectrum_pk)}
    return out


def product_check(output_dir: Path) -> dict[str, int]:
    on_disk = {os.path.abspath(p) for p in glob.glob(f"{output_dir}/**/zetaPayne-*.fits", recursive=True)}
    referenced = {os.path.abspath(r.model_flux_path) for r in ZetaPayne.select() if r.model_flux_path}
    return {
        "products": len(on_disk),
        "orphan_products": len(on_disk - referenced),
        "missing_products": len(referenced - on_disk),
        "temporary_files": len(glob.glob(f"{output_dir}/**/.*.tmp", recursive=True)),
    }


def ok(result: dict[str, int]) -> bool:
    bad = ("missing", "duplicated", "unexpected", "claims_left", "orphan_products", "missing_products")
    good = all(result.get(k, 0) == 0 for k in bad) and result.get("temporary_files", 0) == 0
    return good and result["rows"] == result["spectra"] == result["committed"]


def worker_command(url: str, bundles: dict[str, Path], output_dir: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "zeta_payne.cli",
        "worker",
        "--database",
        url,
        "--bundle-boss",
        str(bundles["boss"]),
        "--bundle-apogee",
        str(bundles["apogee"]),
        "--output-dir",
        str(output_dir),
        "--stale-after",
        "600",
        *CHEAP_CLI,
        *extra,
    ]


def print_result(title: str, result: dict, seconds: float) -> None:
    verdict = "PASS" if ok(result) else "FAIL"
    print(f"\n## {title}: {verdict} ({seconds:.0f} s)")
    for key, value in result.items():
        print(f"  {key:>18}: {value}")
    sys.stdout.flush()


# -- scenarios ----------------------------------------------------------------------------------


def scenario_parallel(base_url: str, work: Path, toys: dict, n: int, workers: int, arriving: int) -> dict:
    url = fresh_schema(base_url, "parallel")
    spec = parse_url(url)
    with bound_database(url, create=True):
        initial = n - arriving
        populate(
            work / "parallel-files", toys, {"boss": initial * 3 // 4, "apogee": initial - initial * 3 // 4}
        )
        options = WorkerOptions(
            bundles={k: str(v.path) for k, v in toys.items()},
            fit_options=CHEAP,
            output_dir=str(work / "parallel-products"),
            batch_size=16,
            chunk_size=16,
        )
        arrived: dict[str, int] = {}

        def arrive() -> None:  # new spectra registered while the workers run
            time.sleep(20.0)
            with bound_database(url):
                arrived.update(
                    populate(work / "arrivals", {"boss": toys["boss"]}, {"boss": arriving}, n_files=1)
                )

        thread = threading.Thread(target=arrive)
        start = time.monotonic()
        thread.start()
        summary = run_workers(workers, options, spec)
        thread.join()
        seconds = time.monotonic() - start
        late = 0
        if summary.fitted < n:  # arrivals after the last claim: a second run picks them up
            late = run_workers(workers, options, spec).fitted
        reset_connection(ZetaPayne._meta.database)
        result = check_rows(spectrum_pks())
        result.update(product_check(work / "parallel-products"))
        result.update(workers=workers, arrived_during_run=arriving, fitted_by_a_second_run=late)
        result["spectra_per_hour"] = round(summary.fitted / seconds * 3600)
        result["lost_workers"] = len(summary.lost)
    print_result(f"{workers} workers over {n} spectra ({arriving} arriving during the run)", result, seconds)
    return result


def scenario_kill(base_url: str, work: Path, toys: dict, n: int, trials: int, seed: int) -> dict:
    url = fresh_schema(base_url, "kill")
    rng = random.Random(seed)
    bundles = {k: v.path for k, v in toys.items()}
    output_dir = work / "kill-products"
    start = time.monotonic()
    moments = []
    with bound_database(url, create=True):
        populate(work / "kill-files", toys, {"boss": n * 3 // 4, "apogee": n - n * 3 // 4})
        for trial in range(trials):
            procs = [
                subprocess.Popen(
                    worker_command(url, bundles, output_dir, "--batch-size", "8"),
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                for _ in range(2)
            ]
            t0 = time.monotonic()
            killed = []
            for process in rng.sample(procs, 2):
                time.sleep(rng.uniform(2.0, 14.0))  # start-up takes a few seconds
                if process.poll() is None:
                    process.send_signal(signal.SIGKILL)
                    killed.append(round(time.monotonic() - t0, 1))
                process.wait()
            moments.extend(killed)
            reset_connection(ZetaPayne._meta.database)
            done = ZetaPayne.select().count()
            print(f"  trial {trial + 1}: SIGKILL at {killed} s after start; {done} rows so far", flush=True)
        rerun = subprocess.run(
            worker_command(url, bundles, output_dir, "--batch-size", "8"), capture_output=True, text=True
        )
        reset_connection(ZetaPayne._meta.database)
        result = check_rows(spectrum_pks())
        result.update(product_check(output_dir))
        dead = cl.ZetaPayneWorker.select().where(cl.ZetaPayneWorker.status == "dead").count()
        result.update(trials=trials, sigkills=len(moments), workers_found_dead=dead)
        result["rerun_exit_code"] = rerun.returncode
        result["rerun"] = rerun.stdout.strip().splitlines()[-1] if rerun.stdout.strip() else ""
    print_result(f"SIGKILL: {trials} trials, then a rerun", result, time.monotonic() - start)
    return result


def scenario_restart(cluster: Cluster | None, base_url: str, work: Path, toys: dict, n: int) -> dict:
    if cluster is None:
        print("\n## PostgreSQL restart: skipped (give --pg-data of the server, or let the script start one)")
        return {}
    url = fresh_schema(base_url, "restart")
    bundles = {k: v.path for k, v in toys.items()}
    start = time.monotonic()
    with bound_database(url, create=True):
        populate(work / "restart-files", toys, {"boss": n * 3 // 4, "apogee": n - n * 3 // 4})
        command = worker_command(
            url, bundles, work / "restart-products", "--workers", "2", "--batch-size", "8"
        )
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        restarts = []
        for mode, at_rows in (("fast", n // 4), ("immediate", n // 2)):
            while process.poll() is None:
                try:
                    if ZetaPayne.select().count() >= at_rows:
                        break
                except TRANSIENT:  # our own probe connection is down too
                    reset_connection(ZetaPayne._meta.database)
                time.sleep(0.5)
            if process.poll() is None:
                t0 = time.monotonic()
                cluster.pg_ctl("restart", mode)
                restarts.append(f"{mode} at {at_rows} rows ({time.monotonic() - t0:.1f} s down)")
                reset_connection(ZetaPayne._meta.database)
        out, err = process.communicate(timeout=3600)
        reset_connection(ZetaPayne._meta.database)
        result = check_rows(spectrum_pks())
        result.update(product_check(work / "restart-products"))
        result["restarts"] = "; ".join(restarts)
        result["exit_code"] = process.returncode
        result["retries_logged"] = err.count("retry")
        result["summary"] = out.strip().splitlines()[-1] if out.strip() else ""
    print_result("PostgreSQL restarted during a run", result, time.monotonic() - start)
    return result


def scenario_throughput(base_url: str, work: Path, n: int, workers: int) -> dict:
    out = {}
    for instrument, resolution in (("boss", 6000.0), ("apogee", 60000.0)):
        bundle = make_toy_bundle(
            work / f"big-{instrument}", instrument, n_pixels=20000, n_hidden=300, resolution=resolution
        )
        url = fresh_schema(base_url, f"speed_{instrument}")
        with bound_database(url, create=True):
            populate(work / f"speed-{instrument}", {instrument: bundle}, {instrument: n}, n_files=min(4, n))
            options = WorkerOptions(
                instruments=(instrument,),
                bundles={instrument: str(bundle.path)},
                fit_options=None,  # the bundle's defaults: the full protocol
                output_dir=str(work / f"speed-{instrument}-products"),
                batch_size=1,
                chunk_size=1,
            )
            load_before = os.getloadavg()[0]
            cpu_before = os.times()
            start = time.monotonic()
            summary = run_workers(workers, options, parse_url(url))
            seconds = time.monotonic() - start
            cpu = os.times()
            children = (cpu.children_user - cpu_before.children_user) + (
                cpu.children_system - cpu_before.children_system
            )
            reset_connection(ZetaPayne._meta.database)
            fit_seconds = [r.t_elapsed for r in ZetaPayne.select() if r.t_elapsed]
            stamps = sorted(r.modified for r in ZetaPayne.select(ZetaPayne.modified))
            span = (stamps[-1] - stamps[0]).total_seconds() if len(stamps) > 2 else 0.0
            result = {
                "spectra": n,
                "fitted": summary.fitted,
                "bad": summary.bad,
                "wall_seconds": round(seconds, 1),
                "spectra_per_hour": round(summary.fitted / seconds * 3600),
                "spectra_per_hour_after_start_up": round((len(stamps) - 1) / span * 3600) if span else None,
                "cpu_seconds_per_spectrum": round(children / max(1, summary.fitted), 2),
                "median_fit_seconds": round(sorted(fit_seconds)[len(fit_seconds) // 2], 2)
                if fit_seconds
                else None,
                "load_average_before": round(load_before, 2),
                "load_average_after": round(os.getloadavg()[0], 2),
            }
        out[instrument] = result
        print(
            f"\n## Throughput, {instrument.upper()}: {workers} workers, full protocol, real-size toy bundle"
        )
        for key, value in result.items():
            print(f"  {key:>26}: {value}")
        sys.stdout.flush()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--postgres-url", default=None, help="use this server instead of starting one")
    parser.add_argument("--pg-bin", default=None, help="folder of pg_ctl (default: newest Debian PostgreSQL)")
    parser.add_argument("--port", type=int, default=55481, help="port of the throwaway cluster")
    parser.add_argument("--spectra", type=int, default=2000, help="spectra of the parallel scenario")
    parser.add_argument("--arriving", type=int, default=100, help="of which registered during the run")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--kill-trials", type=int, default=10)
    parser.add_argument("--kill-spectra", type=int, default=1000)
    parser.add_argument("--restart-spectra", type=int, default=300)
    parser.add_argument("--throughput-n", type=int, default=8, help="spectra per instrument (full protocol)")
    parser.add_argument("--throughput-workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--only", action="append", choices=["parallel", "kill", "restart", "throughput"])
    parser.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    only = set(args.only or ("parallel", "kill", "restart", "throughput"))
    cluster = None
    work = Path(tempfile.mkdtemp(prefix="zeta-payne-soak."))
    figures: dict = {"machine": {"cores": os.cpu_count(), "load_average": os.getloadavg()}}
    try:
        if args.postgres_url:
            base_url = args.postgres_url
        else:
            cluster = Cluster(args.port, args.pg_bin)
            base_url = cluster.start()
        print(f"# PostgreSQL: {base_url}; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
        toys = {i: make_toy_bundle(work / f"toy-{i}", i, n_hidden=32) for i in ("boss", "apogee")}
        if "parallel" in only:
            figures["parallel"] = scenario_parallel(
                base_url, work, toys, args.spectra, args.workers, args.arriving
            )
        if "kill" in only:
            figures["kill"] = scenario_kill(
                base_url, work, toys, args.kill_spectra, args.kill_trials, args.seed
            )
        if "restart" in only:
            figures["restart"] = scenario_restart(cluster, base_url, work, toys, args.restart_spectra)
        if "throughput" in only:
            figures["throughput"] = scenario_throughput(
                base_url, work, args.throughput_n, args.throughput_workers
            )
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2, default=str))
    failed = [
        k for k in ("parallel", "kill", "restart") if k in figures and figures[k] and not ok(figures[k])
    ]
    print(f"\n# {'all scenarios passed' if not failed else 'FAILED: ' + ', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
