#!/usr/bin/python3
"""Independent PyTorch implementation of one P3 configuration, for the
cross-check against examples/continual/continual.cpp: digits, 64 -> 32 ReLU ->
10 MLP, distilled replay with mix, m = 10 per class (and naive fine-tuning as
the floor), seeds 1..N.

  data     sklearn's digits.csv.gz (Debian python3-sklearn), X/16; sample i is
           test if i % 5 == 0, validation if i % 10 == 1, train otherwise
  distill  after each task, each of its classes: m synthetic samples from
           random real ones; 1,000 iterations, each with a fresh nn.Linear(64, 32)
           + ReLU (PyTorch default init, frozen) and all of the class's samples;
           loss |mean f(real) - mean f(syn)|^2; SGD momentum 0.5, lr 1.0 on the
           inputs, clamped to [0, 1]
  learner  nn.Linear default init, plain SGD lr 0.05, 20 epochs per task,
           minibatches of 16 new samples (reshuffled each epoch) joined by
           min(16, |buffer|) buffer samples drawn without replacement; mean
           cross-entropy over the joined batch

    /usr/bin/python3 examples/continual/p3_torch.py [--seeds 5] [--csv FILE]
Prints final accuracy (all 10 classes) per seed and mean ± std."""
import argparse
import gzip

import numpy as np
import torch
import torch.nn.functional as F

DIGITS = "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz"


def load():
    with gzip.open(DIGITS, "rt") as f:
        a = np.loadtxt(f, delimiter=",", dtype=np.float32)
    x, y = torch.from_numpy(a[:, :64] / 16.0), torch.from_numpy(a[:, 64].astype(np.int64))
    i = torch.arange(len(y))
    test = i % 5 == 0
    train = ~test & (i % 10 != 1)
    return x[train], y[train], x[test], y[test]


def distill(real, m, g, iterations=1000):
    syn = real[torch.randperm(len(real), generator=g)[:m]].clone().requires_grad_(True)
    opt = torch.optim.SGD([syn], lr=1.0, momentum=0.5)
    for _ in range(iterations):
        net = torch.nn.Linear(64, 32)
        for p in net.parameters():
            p.requires_grad_(False)
        loss = ((torch.relu(net(real)).mean(0) - torch.relu(net(syn)).mean(0)) ** 2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            syn.clamp_(0.0, 1.0)
    return syn.detach()


def run(seed, m, data, replay=True):
    xtr, ytr, xte, yte = data
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    bx, by = torch.empty(0, 64), torch.empty(0, dtype=torch.int64)
    for t in range(5):
        keep = (ytr // 2) == t
        tx, ty = xtr[keep], ytr[keep]
        for _ in range(20):
            perm = torch.randperm(len(ty), generator=g)
            for s in range(0, len(ty), 16):
                idx = perm[s:s + 16]
                x, y = tx[idx], ty[idx]
                if replay and len(by):
                    pick = torch.randperm(len(by), generator=g)[:min(16, len(by))]
                    x, y = torch.cat([x, bx[pick]]), torch.cat([y, by[pick]])
                opt.zero_grad()
                F.cross_entropy(model(x), y).backward()
                opt.step()
        if replay and t < 4:
            for c in (2 * t, 2 * t + 1):
                bx = torch.cat([bx, distill(xtr[ytr == c], m, g)])
                by = torch.cat([by, torch.full((m,), c, dtype=torch.int64)])
    with torch.no_grad():
        return (model(xte).argmax(1) == yte).float().mean().item()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--csv", default="")
    args = ap.parse_args()
    torch.set_num_threads(1)
    data = load()
    rows = []
    for method, replay in (("distill_mix", True), ("naive", False)):
        accs = []
        for seed in range(1, args.seeds + 1):
            a = run(seed, 10, data, replay)
            accs.append(a)
            rows.append((method, seed, a))
            print(f"progress: pytorch {method} m=10 seed {seed}: final accuracy {100 * a:.1f}%", flush=True)
        sd = float(np.std(accs, ddof=1)) if len(accs) > 1 else 0.0
        print(f"pytorch {method} m=10: final accuracy {100 * np.mean(accs):.1f} ± {100 * sd:.1f} % ({len(accs)} seeds)")
    if args.csv:
        with open(args.csv, "w") as f:
            f.write("method,seed,final_acc\n")
            for method, seed, a in rows:
                f.write(f"{method},{seed},{a:.4f}\n")


if __name__ == "__main__":
    main()
