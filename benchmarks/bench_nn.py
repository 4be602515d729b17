"""Time an nn.LSTM / nn.RNN training step: tinygrad_rnn vs PyTorch (fused and primitive ops) vs NumPy.

    python benchmarks/bench_nn.py [--configs S M L] [--modes LSTM RNN] [--repeats 5]
                                  [--threads 1] [--device cpu|cuda] [--fused] [--memory]

One step = forward over the sequence, cross-entropy over every step, backward to every
parameter. Before timing, all engines are checked against each other in float64 on a small
problem (same loss, same gradients). Reported: median step times and tinygrad_rnn's time as a
ratio of each other engine (< 1 means tinygrad_rnn is faster). ``--memory`` also measures the
peak resident memory a step adds above the memory resident before it (VmHWM − VmRSS,
Linux), each engine in its own process.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

CONFIGS = {  # batch, steps T, input features, hidden, vocab (output classes)
    "S": (1, 25, 65, 100, 65),
    "M": (32, 64, 128, 256, 128),
    "L": (64, 128, 256, 512, 256),
}
ENGINES = ("tg", "torch_fused", "torch_prims", "numpy")
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", nargs="+", default=["S", "M"], choices=sorted(CONFIGS))
    ap.add_argument("--modes", nargs="+", default=["LSTM", "RNN"], choices=["LSTM", "RNN"])
    ap.add_argument("--repeats", type=int, default=5, help="interleaved rounds (one step of each engine)")
    ap.add_argument("--engines", nargs="+", default=list(ENGINES), choices=ENGINES,
                    help="engines to time (tg is always timed: the ratios are of it)")
    ap.add_argument("--threads", type=int, default=1, help="BLAS / torch threads (default 1)")
    ap.add_argument("--clock", default="wall", choices=["wall", "cpu"],
                    help="wall time, or this process's CPU time (steadier on a loaded machine)")
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--fused", action="store_true", help="tinygrad_rnn's fused LSTM pointwise ops")
    ap.add_argument("--memory", action="store_true", help="also measure peak RSS per engine")
    ap.add_argument("--worker", nargs=3, metavar=("ENGINE", "MODE", "CONFIG"), help=argparse.SUPPRESS)
    return ap.parse_args(argv)


def setup_threads(threads: int) -> None:
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)  # before numpy is imported
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def make_runner(engine: str, mode: str, config: str, args):
    """A zero-argument function running one training step of `engine` (plus a sync on CUDA)."""
    import nn_models as M
    B, T, n_in, H, V = CONFIGS[config]
    params = M.init_params(mode, n_in, H, V, args.dtype)
    x, y = M.make_batch(B, T, n_in, V, args.dtype)
    if engine == "numpy":
        return lambda: M.numpy_step(mode, params, x, y)
    if engine == "tg":
        import tinygrad_rnn as tg
        model = M.tg_model(tg, mode, params, args.device, args.fused)
        xt, yt = tg.tensor(x, device=args.device), tg.tensor(y, device=args.device)

        def run():
            loss, _ = M.tg_step(tg, model, xt, yt)
            return loss.item()  # .item() waits for the GPU
        return run
    import torch
    torch.set_num_threads(args.threads)
    dev = "cuda" if args.device == "cuda" else "cpu"
    xt, yt = torch.from_numpy(x).to(dev), torch.from_numpy(y).to(dev)
    if engine == "torch_fused":
        model = M.torch_model(torch, mode, params, dev)
        return lambda: M.torch_fused_step(torch, model, xt, yt)[0].item()
    p = {k: torch.from_numpy(v).to(dev).requires_grad_() for k, v in params.items()}
    return lambda: M.torch_prims_step(torch, mode, p, xt, yt)[0].item()


def interleaved_times(runs: dict, repeats: int, clock=time.perf_counter) -> dict:
    """Median step time of each engine over ``repeats`` rounds; each round runs every engine
    once in turn, so a drift in the shared machine's speed hits all engines alike."""
    for run in runs.values():
        run()  # warm-up
    samples = {e: [] for e in runs}
    for _ in range(repeats):
        for e, run in runs.items():
            start = clock()
            run()
            samples[e].append(clock() - start)
    return {e: statistics.median(s) for e, s in samples.items()}


def check(mode: str) -> None:
    """Every engine gives the same loss and gradients in float64 on a small problem."""
    import nn_models as M
    import numpy as np

    import tinygrad_rnn as tg
    params = M.init_params(mode, 3, 5, 7, "float64", seed=3)
    x, y = M.make_batch(4, 6, 3, 7, "float64", seed=4)
    loss, grads = M.numpy_step(mode, params, x, y)
    results = {}
    tg_loss, tg_grads = M.tg_step(tg, M.tg_model(tg, mode, params), tg.tensor(x), tg.tensor(y))
    results["tg"] = (tg_loss.item(), [g.numpy() for g in tg_grads])
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)
        fl, fg = M.torch_fused_step(torch, M.torch_model(torch, mode, params), xt, yt)
        results["torch_fused"] = (fl.item(), [g.numpy() for g in fg])
        p = {k: torch.from_numpy(v).requires_grad_() for k, v in params.items()}
        pl, pg = M.torch_prims_step(torch, mode, p, xt, yt)
        results["torch_prims"] = (pl.item(), [g.numpy() for g in pg])
    for engine, (other_loss, other_grads) in results.items():
        assert abs(loss - other_loss) < 1e-10, (engine, loss, other_loss)
        for k, a, b in zip(M.names(mode), grads, other_grads):
            assert np.allclose(a, b, atol=1e-10), f"{engine}: gradient of {k} differs from NumPy's"


def peak_memory(engine: str, mode: str, config: str, args) -> float | None:
    """MiB of resident memory one step adds, measured in a fresh process."""
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", engine, mode, config,
           "--threads", str(args.threads), "--dtype", args.dtype, "--device", args.device]
    cmd += ["--fused"] if args.fused else []
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        print(out.stderr[-2000:], file=sys.stderr)
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])["peak_mib"]


def _status_kib(field: str) -> int:
    """A field of /proc/self/status in KiB (VmRSS: resident now; VmHWM: the peak so far)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def worker(args) -> None:
    # VmHWM belongs to this process image (ru_maxrss would inherit the parent's peak)
    engine, mode, config = args.worker
    run = make_runner(engine, mode, config, args)
    before = _status_kib("VmRSS")
    run()
    after = _status_kib("VmHWM")
    print(json.dumps({"peak_mib": max(after - before, 0) / 1024}))


def main(argv=None) -> None:
    args = parse_args(argv)
    setup_threads(args.threads)
    if args.worker:
        return worker(args)
    try:
        import torch
        available = ENGINES
    except ImportError:
        torch, available = None, ("tg", "numpy")
    if args.device == "cuda":
        available = tuple(e for e in available if e != "numpy")
    available = tuple(e for e in available if e == "tg" or e in args.engines)
    for mode in args.modes:
        check(mode)
    import numpy as np
    print(f"device {args.device} · threads {args.threads} · {args.dtype} · median of "
          f"{args.repeats} interleaved rounds ({args.clock} clock) · fused={args.fused} · "
          f"numpy {np.__version__} · torch "
          f"{'absent' if torch is None else torch.__version__}")
    print("all engines agree in float64 (loss and every gradient to 1e-10)")
    head = f"{'step':<34}" + "".join(f"{e:>13}" for e in available) + \
        "".join(f"{'tg/' + e:>17}" for e in available if e != "tg")
    print(head)
    print("-" * len(head))
    for config in args.configs:
        for mode in args.modes:
            B, T, n_in, H, V = CONFIGS[config]
            times = interleaved_times({e: make_runner(e, mode, config, args) for e in available},
                                      args.repeats, CLOCKS[args.clock])
            label = f"{mode} {config} (B={B}, T={T}, H={H})"
            print(f"{label:<34}" + "".join(f"{times[e] * 1e3:>10.1f} ms" for e in available)
                  + "".join(f"{times['tg'] / times[e]:>16.2f}×" for e in available if e != "tg"),
                  flush=True)
            if args.memory:
                mem = {e: peak_memory(e, mode, config, args) for e in available}
                print(f"{'  peak RSS added (MiB)':<34}" + "".join(_cell(mem[e], "") for e in available)
                      + "".join(_cell(mem["tg"] / mem[e] if mem["tg"] and mem[e] else None, "×",
                                      17) for e in available if e != "tg"), flush=True)


def _cell(value, unit: str, width: int = 13) -> str:
    return f"{'—' if value is None else f'{value:.2f}{unit}':>{width}}"

if __name__ == "__main__":
    main()
