#!/usr/bin/python3
"""The PyTorch cross-check of P3 as a test: digits MLP, distill_mix and naive
fine-tuning, m = 10, seeds 1..N, from the C++ program (continual) and from the
independent PyTorch implementation (p3_torch.py). Fails unless each method's
mean final accuracy agrees within TOL points and distilled replay is ahead of
naive fine-tuning by 50 points in both.

    check_torch_crosscheck.py CONTINUAL_BINARY WORK_DIR [--seeds 3] [--tol 2.0]"""
import argparse
import csv
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def means(path, acc_col):
    by = {}
    with open(path) as f:
        for row in csv.DictReader(f):
            by.setdefault(row["method"], []).append(100.0 * float(row[acc_col]))
    return {k: (statistics.mean(v), len(v)) for k, v in by.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("work")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--tol", type=float, default=2.0)
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    ours, theirs = os.path.join(a.work, "tinyadapt.csv"), os.path.join(a.work, "pytorch.csv")
    subprocess.run([a.binary, "--dataset", "digits", "--ms", "10", "--seeds", str(a.seeds), "--methods",
                    "naive,distill_mix", "--csv", ours], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([sys.executable, os.path.join(HERE, "p3_torch.py"), "--seeds", str(a.seeds), "--csv", theirs],
                   check=True)
    t, p = means(ours, "final_acc"), means(theirs, "final_acc")
    ok = True
    for method in ("distill_mix", "naive"):
        if method not in t or method not in p or t[method][1] != a.seeds or p[method][1] != a.seeds:
            print(f"FAIL: {method}: missing rows (tinyadapt {t.get(method)}, pytorch {p.get(method)})")
            ok = False
            continue
        d = t[method][0] - p[method][0]
        verdict = "ok" if abs(d) <= a.tol else "FAIL"
        ok &= verdict == "ok"
        print(f"{verdict}: {method} m=10, {a.seeds} seeds: tinyadapt {t[method][0]:.1f}%, pytorch {p[method][0]:.1f}%"
              f" ({d:+.1f} points, tolerance {a.tol})")
    if ok:
        for name, r in (("tinyadapt", t), ("pytorch", p)):
            if not r["distill_mix"][0] > r["naive"][0] + 50.0:
                print(f"FAIL: {name}: distilled replay is not 50 points ahead of naive fine-tuning")
                ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
