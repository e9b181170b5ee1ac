#!/usr/bin/python3
"""The same distribution-matching computation in PyTorch, for the speed target:
one Fashion-MNIST class (class 0 of the P3 training split: train-file index
i % 10 != 0), m = 10 synthetic samples initialised from real ones, 300
iterations, each with a freshly initialised 784 -> 64 ReLU embedding (PyTorch's
default init, frozen) and a real batch of 128, SGD momentum 0.5 lr 1.0 on the
synthetic inputs, clamped to [0, 1]. One thread, best of 3.

    /usr/bin/python3 examples/continual/distill_torch.py [--threads N]
(Debian's python3-torch; the python3 first on PATH may lack torch.)"""
import argparse
import gzip
import time

import numpy as np
import torch

FMNIST = "/usr/share/datasets/fashion-mnist"


def load_class(label):
    with gzip.open(f"{FMNIST}/train-labels-idx1-ubyte.gz") as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)
    with gzip.open(f"{FMNIST}/train-images-idx3-ubyte.gz") as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)
    keep = (np.arange(len(y)) % 10 != 0) & (y == label)
    return torch.from_numpy(x[keep].astype(np.float32) / 255.0)


def distill(real, m=10, iterations=300, batch=128, seed=1):
    g = torch.Generator().manual_seed(seed)
    syn = real[torch.randperm(len(real), generator=g)[:m]].clone().requires_grad_(True)
    opt = torch.optim.SGD([syn], lr=1.0, momentum=0.5)
    first = last = None
    for _ in range(iterations):
        net = torch.nn.Linear(784, 64)
        for p in net.parameters():
            p.requires_grad_(False)
        idx = torch.randint(len(real), (batch,), generator=g)
        e_real = torch.relu(net(real[idx])).mean(0)
        e_syn = torch.relu(net(syn)).mean(0)
        loss = ((e_real - e_syn) ** 2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            syn.clamp_(0.0, 1.0)
        first = loss.item() if first is None else first
        last = loss.item()
    return first, last


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    real = load_class(0)
    best_wall = best_cpu = float("inf")
    for _ in range(3):
        w0, c0 = time.perf_counter(), time.process_time()
        first, last = distill(real)
        best_wall = min(best_wall, time.perf_counter() - w0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    print(f"pytorch {torch.__version__}, {args.threads} thread(s): distill one Fashion-MNIST class "
          f"({len(real)} samples, m=10, 300 iterations, real batch 128): {best_wall:.3f} s wall, "
          f"{best_cpu:.3f} s CPU (best of 3); loss {first:.4g} -> {last:.4g}")


if __name__ == "__main__":
    main()
