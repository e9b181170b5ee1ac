#!/usr/bin/python3
"""PyTorch cross-check of P1 (../shared/guides/protocols.md): sine few-shot
regression on W1 with TinyReptile, batch Reptile, joint pretraining and
scratch, written independently of the C++ library (autograd for every
gradient, torch.Generator for every random number), to compare with
examples/reptile_sine.cpp at the same rounds.

    /usr/bin/python3 tools/reptile_sine_torch.py [--rounds N] [--seeds S]
        [--methods tinyreptile,reptile,joint,scratch] [--k 10]
        [--eps0-tinyreptile E] [--eps0-reptile E] [--lr LR] [--cpp-csv FILE]

Run it with Debian's interpreter (python3-torch); the python3 first on PATH
may be another one without torch. With --cpp-csv (the CSV of reptile_sine at
the same --rounds) it prints, per method and adaptation step, both means ±
standard deviations over seeds and their difference in units of the larger
of the two seed-to-seed spreads.

Protocol: tasks y = A sin(x + phase), A ~ U[0.1, 5], phase ~ U[0, 2 pi],
x ~ U[-5, 5]; PyTorch's default init (uniform +-1/sqrt(fan_in), weights and
biases); MSE; plain SGD. TinyReptile: one device per round, k online steps of
batch 1, theta += eps_t (phi - theta) with eps linearly decayed from eps0 to 0.
Batch Reptile: 50 stored points, 5 minibatch steps of 10, lr 0.02, the same
eps schedule. Joint: one network trained online on the same number of samples.
Evaluation: 200 unseen test tasks, 10 shots, 32 full-batch SGD steps of lr
0.02, MSE on 50 evenly spaced x in [-5, 5] after 0/1/4/8/32 steps.
"""
import argparse
import csv
import math
import statistics
import sys
import time

import torch

REPORT_AT = (0, 1, 4, 8, 32)
SIZES = ((1, 64), (64, 64), (64, 1))  # (fan_in, fan_out) of the three Linear layers


def init_params(gen):
    """PyTorch's nn.Linear default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases."""
    params = []
    for fan_in, fan_out in SIZES:
        bound = 1.0 / math.sqrt(fan_in)
        params.append((torch.rand(fan_out, fan_in, generator=gen) * 2 - 1) * bound)
        params.append((torch.rand(fan_out, generator=gen) * 2 - 1) * bound)
    return params


def forward(p, x):
    """x: (..., n, 1); parameters either (out, in) or batched (T, out, in)."""
    h = x
    for i in range(0, 6, 2):
        w, b = p[i], p[i + 1]
        h = h @ w.transpose(-1, -2) + b.unsqueeze(-2)
        if i < 4:
            h = torch.tanh(h)
    return h


def sgd_step(p, x, y, lr):
    p = [t.detach().requires_grad_(True) for t in p]
    loss = ((forward(p, x) - y) ** 2).mean()
    grads = torch.autograd.grad(loss, p)
    with torch.no_grad():
        return [t - lr * g for t, g in zip(p, grads)]


def draw_tasks(n, gen):
    amplitude = torch.rand(n, generator=gen) * 4.9 + 0.1
    phase = torch.rand(n, generator=gen) * 2 * math.pi
    return amplitude, phase


def draw_x(n, gen):
    return torch.rand(n, 1, generator=gen) * 10 - 5


def evaluate(theta, tasks_gen, n_tasks, shots=10, steps=32, lr=0.02):
    """Mean test MSE over the tasks after REPORT_AT full-batch steps (all tasks at once)."""
    amplitude, phase = draw_tasks(n_tasks, tasks_gen)
    xs = torch.rand(n_tasks, shots, 1, generator=tasks_gen) * 10 - 5
    ys = amplitude[:, None, None] * torch.sin(xs + phase[:, None, None])
    xq = torch.linspace(-5, 5, 50).reshape(1, 50, 1).expand(n_tasks, 50, 1)
    yq = amplitude[:, None, None] * torch.sin(xq + phase[:, None, None])
    p = [t.unsqueeze(0).repeat(n_tasks, *([1] * t.dim())) for t in theta]
    out = {}
    for step in range(steps + 1):
        if step in REPORT_AT:
            with torch.no_grad():
                out[step] = ((forward(p, xq) - yq) ** 2).mean(dim=(1, 2)).mean().item()
        if step == steps:
            break
        p = [t.detach().requires_grad_(True) for t in p]
        # Sum over tasks of each task's mean loss: every task gets its own gradient.
        loss = ((forward(p, xs) - ys) ** 2).mean(dim=(1, 2)).sum()
        grads = torch.autograd.grad(loss, p)
        with torch.no_grad():
            p = [t - lr * g for t, g in zip(p, grads)]
    return [out[s] for s in REPORT_AT]


def meta_train(method, seed, rounds, k, eps0, lr, progress):
    gen = torch.Generator().manual_seed(1000 + seed)
    theta = init_params(gen)
    if method == "scratch":
        return theta, 0.0
    data = torch.Generator().manual_seed(2000 + seed)
    started = last = time.time()
    for r in range(rounds):
        amplitude, phase = (float(v) for v in draw_tasks(1, data))
        if method == "reptile":
            x = draw_x(50, data)
            y = amplitude * torch.sin(x + phase)
            phi = theta
            for s in range(5):
                phi = sgd_step(phi, x[10 * s:10 * s + 10], y[10 * s:10 * s + 10], 0.02)
        else:
            x = draw_x(k, data)
            y = amplitude * torch.sin(x + phase)
            phi = theta
            for i in range(k):
                phi = sgd_step(phi, x[i:i + 1], y[i:i + 1], lr)
        if method == "joint":
            theta = phi
        else:
            eps = eps0 * (1.0 - r / rounds)
            theta = [t + eps * (f - t) for t, f in zip(theta, phi)]
        now = time.time()
        if progress and now - last > 2.0:
            last = now
            rate = (r + 1) / (now - started)
            print(f"progress: {method} seed {seed}: round {r + 1}/{rounds}, {rate:.0f} rounds/s, "
                  f"ETA {(rounds - r - 1) / rate:.0f} s", flush=True)
    return theta, time.time() - started


def mean_std(v):
    return statistics.mean(v), (statistics.stdev(v) if len(v) > 1 else 0.0)


def read_cpp(path, methods):
    """C++ rows of the chosen configurations: {method: [[step metrics] per seed]}."""
    rows = {}
    with open(path) as f:
        for row in csv.DictReader(f):
            rows.setdefault((row["method"], row["k"], row["eps0"]), []).append(
                [float(row[f"metric_step{s}"]) for s in REPORT_AT])
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=30000)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--methods", default="tinyreptile,reptile,scratch")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--eps0-tinyreptile", type=float, default=1.0)
    ap.add_argument("--eps0-reptile", type=float, default=1.0)
    ap.add_argument("--lr", type=float, default=0.01, help="online device lr (tinyreptile, joint)")
    ap.add_argument("--test-tasks", type=int, default=200)
    ap.add_argument("--cpp-csv", help="reptile_sine's CSV at the same rounds, to compare with")
    args = ap.parse_args()
    torch.set_num_threads(1)
    methods = args.methods.split(",")
    print(f"P1 in PyTorch {torch.__version__}: {args.rounds} rounds, {args.seeds} seeds, k={args.k}, "
          f"device lr {args.lr}, eps0 tinyreptile {args.eps0_tinyreptile}, reptile {args.eps0_reptile}", flush=True)
    results = {}
    for method in methods:
        eps0 = args.eps0_reptile if method == "reptile" else args.eps0_tinyreptile
        for seed in range(1, args.seeds + 1):
            theta, seconds = meta_train(method, seed, args.rounds, args.k, eps0, args.lr, True)
            metrics = evaluate(theta, torch.Generator().manual_seed(3000 + seed), args.test_tasks)
            results.setdefault(method, []).append(metrics)
            print(f"{method:12s} seed {seed}: " + " ".join(f"{m:8.4f}" for m in metrics) +
                  f"   ({seconds:.1f} s meta-training)", flush=True)

    print("\n| method | " + " | ".join(f"step {s}" for s in REPORT_AT) + " |")
    print("|---|" + "---|" * len(REPORT_AT))
    for method, per_seed in results.items():
        cells = [mean_std([m[j] for m in per_seed]) for j in range(len(REPORT_AT))]
        print(f"| {method} (PyTorch) | " + " | ".join(f"{a:.3f} ± {b:.3f}" for a, b in cells) + " |")

    if args.cpp_csv:
        cpp = read_cpp(args.cpp_csv, methods)
        keys = {"tinyreptile": ("tinyreptile", str(args.k), f"{args.eps0_tinyreptile:.1f}"),
                "reptile": ("reptile", "50", f"{args.eps0_reptile:.1f}"),
                "joint": ("joint", str(args.k), "0.0"), "scratch": ("scratch", "0", "0.0")}
        print("\nC++ vs PyTorch (mean ± std over seeds; diff in units of the larger seed std)")
        worst = 0.0
        for method, per_seed in results.items():
            if keys[method] not in cpp:
                print(f"{method}: no C++ row {keys[method]} in {args.cpp_csv}")
                continue
            c_rows = cpp[keys[method]]
            for j, step in enumerate(REPORT_AT):
                pm, ps = mean_std([m[j] for m in per_seed])
                cm, cs = mean_std([m[j] for m in c_rows])
                spread = max(ps, cs, 1e-12)
                z = (cm - pm) / spread
                worst = max(worst, abs(z)) if method != "scratch" else worst
                print(f"{method:12s} step {step:2d}: C++ {cm:.4f} ± {cs:.4f}  PyTorch {pm:.4f} ± {ps:.4f}  "
                      f"ratio {cm / pm:.3f}  diff {z:+.2f} std")
        print(f"largest |diff| of the meta-learned methods: {worst:.2f} seed std")
    return 0


if __name__ == "__main__":
    sys.exit(main())
