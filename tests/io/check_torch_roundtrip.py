#!/usr/bin/python3
"""PyTorch -> tinyadapt -> PyTorch round trip of a trained model.

Trains a small CNN in PyTorch (float32), converts its state_dict with
tools/torch_weights.py into a .bin blob and a C++ header, builds
tests/io/roundtrip.cpp against that header, which checks the outputs against
PyTorch's on the same inputs and saves the parameters back; then converts the
saved blob into a state_dict that must equal the trained one exactly, and
checks that the converter refuses a blob for another model.

    check_torch_roundtrip.py <c++ compiler> <tinyadapt source dir> <work dir>

Needs Debian's python3-torch. Exit status 0 when everything matched.
"""

import os
import shutil
import struct
import subprocess
import sys

import torch

MODEL = ("input 10 10 2; conv2d 4 3; relu; maxpool2d 2; conv2d 6 3 same; tanh; "
         "flatten; dense 8; sigmoid; dense 3")


def run(*cmd):
    print("+", " ".join(cmd), flush=True)
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print(r.stdout, end="", flush=True)
    if r.returncode != 0:
        sys.exit(f"FAIL: exit status {r.returncode}: {' '.join(cmd)}")
    return r.stdout


def main(cxx, src, work):
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    tool = [sys.executable, os.path.join(src, "tools", "torch_weights.py")]
    torch.manual_seed(0)
    torch.set_num_threads(1)

    model = torch.nn.Sequential(
        torch.nn.Conv2d(2, 4, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(4, 6, 3, padding=1), torch.nn.Tanh(), torch.nn.Flatten(),
        torch.nn.Linear(96, 8), torch.nn.Sigmoid(), torch.nn.Linear(8, 3))
    # A trained model, not an initial one: 200 SGD steps on a toy task.
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(200):
        x = torch.randn(16, 2, 10, 10)
        target = torch.stack([x[:, 0].mean((1, 2)), x[:, 1].mean((1, 2)), x.std((1, 2, 3))], 1)
        loss = torch.nn.functional.mse_loss(model(x), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
    print(f"trained: final loss {loss.item():.4f}")
    state = model.state_dict()
    torch.save(state, os.path.join(work, "model.pt"))

    # Inputs in tinyadapt's H x W x C order, and PyTorch's outputs.
    inputs = torch.randn(8, 2, 10, 10)
    with torch.no_grad():
        outputs = model(inputs)
    with open(os.path.join(work, "cases.bin"), "wb") as f:
        f.write(struct.pack("<I", len(inputs)))
        for x, y in zip(inputs, outputs):
            f.write(x.permute(1, 2, 0).contiguous().numpy().astype("<f4").tobytes())
            f.write(y.numpy().astype("<f4").tobytes())

    model_pt = os.path.join(work, "model.pt")
    run(*tool, "to-tinyadapt", "--model", MODEL, model_pt, os.path.join(work, "model.bin"))
    run(*tool, "to-tinyadapt", "--model", MODEL, "--name", "roundtrip_params", model_pt,
        os.path.join(work, "roundtrip_params.h"))

    exe = os.path.join(work, "roundtrip")
    run(cxx, "-std=c++17", "-O1", "-Wall", "-Wextra", "-Werror", "-fno-exceptions", "-fno-rtti",
        "-I" + os.path.join(src, "include"), "-I" + work,
        os.path.join(src, "tests", "io", "roundtrip.cpp"), "-o", exe)
    saved = os.path.join(work, "saved.bin")
    run(exe, os.path.join(work, "model.bin"), os.path.join(work, "cases.bin"), saved)

    with open(saved, "rb") as f, open(os.path.join(work, "model.bin"), "rb") as g:
        if f.read() != g.read():
            sys.exit("FAIL: the blob saved by C++ differs from the converted one")
    back = os.path.join(work, "back.pt")
    names = ",".join(k[:-len(".weight")] for k in state if k.endswith(".weight"))
    run(*tool, "to-torch", "--model", MODEL, "--names", names, saved, back)
    restored = torch.load(back)
    if list(restored) != list(state):
        sys.exit(f"FAIL: keys {list(restored)} != {list(state)}")
    for k in state:
        if not torch.equal(restored[k], state[k]):
            sys.exit(f"FAIL: {k} changed in the round trip")
    print("state_dict restored exactly")

    # The converter refuses a blob for another model.
    other = MODEL.replace("maxpool2d", "avgpool2d")
    r = subprocess.run(tool + ["to-torch", "--model", other, saved, os.path.join(work, "x.pt")],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 1 or "signature" not in r.stdout:
        sys.exit(f"FAIL: a blob for another model was not refused ({r.returncode}): {r.stdout}")
    print("blob for another model refused:", r.stdout.strip())
    print("PASS")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
