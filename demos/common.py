"""What every demo shares: the command-line options, the output folder, the closing summary."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field

import tinygrad_rnn as tg


class _Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """argparse's defaults formatter, minus "(default: None)" (those options say in words)."""

    def _get_help_string(self, action):
        if action.default is None:
            return action.help
        return super()._get_help_string(action)


class _Parser(argparse.ArgumentParser):
    """An option added without help text still shows its default in ``--help``."""

    def add_argument(self, *args, **kwargs):
        action = super().add_argument(*args, **kwargs)
        if action.help is None and action.option_strings and action.default is not None:
            action.help = "(default: %(default)s)"  # argparse shows nothing for help=None
        return action


def parser(name: str, description: str, steps: int = 0) -> argparse.ArgumentParser:
    """The options every demo takes; ``--help`` lists them (and the demo's own) with defaults."""
    ap = _Parser(prog=f"tinygrad-rnn demo {name}", description=description,
                 formatter_class=_Formatter)
    ap.add_argument("--device", default=None, help="cpu or cuda (default: $TINYGRAD_RNN_DEVICE or cpu)")
    ap.add_argument("--steps", type=positive_int, default=steps, help="training steps (full mode)")
    ap.add_argument("--seed", type=int, default=0, help="random seed")
    ap.add_argument("--out", default=os.path.join("out", name),
                    help="folder for plots and graphs, made on the first file written")
    ap.add_argument("--quick", action="store_true", help="a small, fast run (used by the tests)")
    return ap


def positive_int(text: str) -> int:
    """argparse type for --steps: an integer ≥ 1 (argparse turns the error into exit status 2)."""
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {n}")
    return n


def setup(args) -> str:
    """Seed and return the output folder (made only when a file is saved into it)."""
    tg.manual_seed(args.seed)
    return args.out


@dataclass
class Claim:
    text: str
    measured: str
    held: bool


@dataclass
class Summary:
    name: str
    claims: list = field(default_factory=list)
    files: list = field(default_factory=list)

    def claim(self, text: str, measured: str, held: bool) -> bool:
        self.claims.append(Claim(text, measured, bool(held)))
        return bool(held)

    @property
    def held(self) -> bool:
        return all(c.held for c in self.claims)

    def print(self) -> None:
        print(f"\n== {self.name}: summary ==")
        for c in self.claims:
            print(f"  {'✓' if c.held else '✗'} {c.text}: {c.measured}")
        for f in self.files:
            print(f"  wrote {f}")


class _Figures:
    """The two pyplot calls the demos use, made with matplotlib's object API.

    ``subplots``/``figure`` build :class:`matplotlib.figure.Figure` objects that no global
    state knows about, so a demo never switches the process-wide backend (importing or running
    one in a notebook leaves the user's backend alone) and a figure is freed with its last
    reference; ``close`` is there for code written against pyplot and does nothing.
    """

    _FIGURE_KWARGS = ("figsize", "dpi", "facecolor", "edgecolor", "layout", "tight_layout",
                      "constrained_layout")

    def figure(self, **kwargs):
        from matplotlib.figure import Figure
        return Figure(**kwargs)

    def subplots(self, nrows: int = 1, ncols: int = 1, **kwargs):
        fig = self.figure(**{k: kwargs.pop(k) for k in self._FIGURE_KWARGS if k in kwargs})
        return fig, fig.subplots(nrows, ncols, **kwargs)

    def close(self, fig=None) -> None:
        pass

    @property
    def cm(self):
        """The colour maps (``plt.cm.viridis``): matplotlib.cm, which holds no global state."""
        from matplotlib import cm
        return cm


def pyplot() -> _Figures:
    """Figures for the demos' plots: ``pyplot().subplots(...)`` as with matplotlib.pyplot,
    but through the object API (see :class:`_Figures`); demos write PNGs, open no windows."""
    return _Figures()


def subplots(nrows: int = 1, ncols: int = 1, **kwargs):
    """``(Figure, axes)`` as ``matplotlib.pyplot.subplots`` returns them, but made with the object
    API: no backend is switched and no global figure list keeps the figure alive."""
    return _Figures().subplots(nrows, ncols, **kwargs)


def save(fig, out: str, name: str, summary: Summary | None = None) -> str:
    """Write ``fig`` as ``out/name`` (making ``out`` on the first file) and record it."""
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, name)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    if summary is not None:
        summary.files.append(path)
    return path


def progress(iterable, **kw):
    """A tqdm progress bar (on stderr) when tqdm is installed, else the plain iterable (and in a
    worker process of :func:`run_jobs`, whose bars would overwrite each other)."""
    if _IN_WORKER:
        return iterable
    try:
        from tqdm import tqdm
    except ImportError:
        return iterable
    return tqdm(iterable, **kw)


_IN_WORKER = False  # set in the worker processes of run_jobs: their progress bars stay off


def workers(device=None) -> int:
    """How many processes :func:`run_jobs` uses: one per CPU core this process may run on, or
    $TINYGRAD_RNN_WORKERS; 1 on a GPU (a CUDA context does not survive a fork) and in a worker."""
    from tinygrad_rnn.backend import default_device
    if _IN_WORKER or (device or default_device()).split(":")[0] != "cpu":
        return 1
    env = os.environ.get("TINYGRAD_RNN_WORKERS", "").strip()
    if env:
        if not env.isdigit() or int(env) < 1:
            raise ValueError(f"TINYGRAD_RNN_WORKERS={env!r}: give a number of processes, 1 or more "
                             "(1 trains one model after the other)")
        return int(env)
    return _cores()


def _cores() -> int:
    """The CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _start_worker(blas_threads: int) -> None:
    global _IN_WORKER
    _IN_WORKER = True
    limit_blas_threads(blas_threads)


_BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def limit_blas_threads(n: int) -> None:
    """Give this process's BLAS ``n`` threads. Workers of :func:`run_jobs` share the cores, and
    OpenBLAS's threads wait by spinning: two workers with two BLAS threads each on 2 cores
    took adding-problem from 15 s to 33 s. A spawned worker reads the environment when NumPy
    loads; a forked one has OpenBLAS loaded already, so it is asked directly (Linux)."""
    for var in _BLAS_THREADS:
        os.environ[var] = str(n)
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "openblas" in line.lower() and ".so" in line}
    except OSError:
        return
    import ctypes
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
                     "openblas_set_num_threads64_", "openblas_set_num_threads"):
            setter = getattr(lib, name, None)
            if setter is not None:
                setter(ctypes.c_int(n))
                break


def run_jobs(fn, jobs: list, device=None, desc: str | None = None, cost: list | None = None) -> list:
    """``[fn(*job) for job in jobs]``, the jobs spread over :func:`workers` processes.

    For a demo that trains several independent models (other architectures, other seeds): each
    job seeds itself (``tg.manual_seed``) or gets a model built beforehand, and draws its own
    data, so its numbers are those of the sequential run in any process and any order; the
    results come back in the order of ``jobs``. ``fn`` must be a module-level function and the
    jobs' arguments and results picklable (NumPy arrays, numbers, modules): they travel between
    the processes. One worker (a GPU, one core) runs them here, one after the other.
    ``cost``, a rough time per job, hands out the longest first, so that no long job starts last.
    """
    n = min(workers(device), len(jobs))
    if n <= 1:
        return [fn(*job) for job in (progress(jobs, desc=desc, leave=False) if desc else jobs)]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    # fork on Linux: the workers start at once with the demo imported (spawn re-imports it);
    # elsewhere spawn, as macOS's own BLAS (Accelerate) is not safe to use after a fork
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    threads = max(1, _cores() // n)  # the cores, shared out: no BLAS oversubscribes them
    saved = {var: os.environ.get(var) for var in _BLAS_THREADS}
    for var in _BLAS_THREADS:  # what a spawned worker's NumPy reads when it loads
        os.environ[var] = str(threads)
    try:
        with ProcessPoolExecutor(n, mp_context=multiprocessing.get_context(method),
                                 initializer=_start_worker, initargs=(threads,)) as pool:
            order = sorted(range(len(jobs)), key=lambda k: -cost[k]) if cost else range(len(jobs))
            futures = [None] * len(jobs)
            for k in order:
                futures[k] = pool.submit(fn, *jobs[k])
            if desc:
                for _ in progress(as_completed(futures), total=len(futures), desc=desc, leave=False):
                    pass
            return [f.result() for f in futures]
    finally:
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value
