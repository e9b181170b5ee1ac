#!/usr/bin/env python3
"""Writes the hand-made seed inputs of fuzz_train_step into corpus/ (format: README.md).

Run from anywhere: python3 tests/fuzz/make_corpus.py
"""
import os
import struct

W1, W2, W3 = 0, 1, 2
SGD, MOMENTUM, ADAM = 0, 1, 2
NESTEROV, DECAY, ACCUMULATE, NO_BRICKING = 1, 2, 4, 8
SPECIAL = {"nan": 4, "inf": 6, "-inf": 7, "max": 8, "denorm": 12, "1e19": 14, "2e19": 16, "2^100": 18, "1e38": 20}


def small(v):
    """A sane value: int8 / 16."""
    return bytes([0, int(round(v * 16)) & 0xFF])


def special(name):
    return bytes([224 + SPECIAL[name]])


def raw(f):
    return bytes([200]) + struct.pack("<f", f)


def sane(i):
    """Hyper-parameter: the i-th sane choice (a tag of 224 or more: a value() follows)."""
    return bytes([i])


def weights(seed, scheme, overwrites=()):
    out = struct.pack("<IB", seed, scheme) + bytes([len(overwrites)])
    for at, run, val in overwrites:
        out += struct.pack("<HB", at, run - 1) + val
    return out


def sample(fill, target, patches=(), control=0, mutate=b""):
    out = bytes([control]) + mutate + fill + bytes([len(patches)])
    for at, val in patches:
        out += struct.pack("<H", at) + val
    return out + target


def from_bytes(*vals):
    return bytes([0]) + b"".join(vals)


def uniform(seed, scale):
    return bytes([1, seed]) + scale


def constant(val):
    return bytes([2]) + val


SAME = bytes([3])


def label(k):
    return bytes([k])


def steps(*s):
    return bytes([len(s) - 1]) + b"".join(s)


seeds = {
    # W1 SGD, lr 0.01, train_step on sane sine samples.
    "w1_sgd_sane": bytes([W1, SGD, 0]) + sane(1) + sane(0) + weights(7, 0)
    + steps(*[sample(from_bytes(small(x)), small(0.5 * x)) for x in (-2.0, -1.0, 0.5, 1.5, 2.5, 3.0)]),
    # W1 SGDMomentum (Nesterov, decay): a NaN input, a huge target, a 1e19 input, then a sane one.
    "w1_momentum_hostile": bytes([W1, MOMENTUM, NESTEROV | DECAY]) + sane(1) + sane(0) + sane(1) + sane(0)
    + weights(3, 1)
    + steps(sample(from_bytes(special("nan")), small(1.0)),
            sample(from_bytes(small(1.0)), special("max")),
            sample(from_bytes(special("1e19")), small(0.0)),
            sample(from_bytes(small(0.25)), small(0.25))),
    # W2 SGDMomentum through the accumulator: bad labels, NaN patches, apply every second add.
    "w2_momentum_accumulate": bytes([W2, MOMENTUM, ACCUMULATE]) + sane(2) + sane(0) + sane(0) + weights(11, 3)
    + steps(sample(uniform(1, small(1.0)), label(3)),
            sample(uniform(2, small(1.0)), label(250), control=2),
            sample(SAME, label(7), patches=[(5, special("nan"))]),
            sample(uniform(3, special("1e19")), label(1), control=2),
            sample(uniform(4, small(1.0)), label(9), control=2)),
    # W2 SGD with a learning rate of raw NaN bits, then fixed mid-sequence.
    "w2_sgd_bad_lr": bytes([W2, SGD, 0]) + bytes([230]) + raw(float("nan")) + sane(0) + weights(5, 0)
    + steps(sample(uniform(1, small(1.0)), label(2)),
            sample(SAME, label(2), control=1, mutate=bytes([0]) + raw(0.01))),
    # W3 Adam with weight decay, some weights overwritten with 2^100 and 1e38.
    "w3_adam_huge_weights": bytes([W3, ADAM, DECAY]) + sane(1) + sane(0) + sane(0) + sane(0) + sane(1) + sane(0)
    + weights(9, 3, [(0, 16, special("2^100")), (4000, 8, special("1e38"))])
    + steps(sample(uniform(1, small(1.0)), label(4)), sample(uniform(2, small(1.0)), label(6))),
    # W3 SGDMomentum, accumulator, constant image of 2e19 (|x|^2 overflows) then sane.
    "w3_momentum_accumulate": bytes([W3, MOMENTUM, ACCUMULATE | NESTEROV]) + sane(1) + sane(0) + sane(0)
    + weights(13, 4)
    + steps(sample(constant(special("2e19")), label(1)), sample(uniform(5, small(1.0)), label(8), control=2)),
    # W1 Adam no-bricking: init seed 21, lr 0.05, hostile input 1e19 with target -1e5.
    "w1_adam_no_bricking": bytes([W1, ADAM, NO_BRICKING]) + bytes([2]) + struct.pack("<IB", 21, 0)
    + from_bytes(special("1e19")) + bytes([0]) + bytes([224 + 25]),
    # W3 SGD no-bricking through the accumulator: lr 0.05, an image scaled by 1e38.
    "w3_sgd_no_bricking": bytes([W3, SGD, NO_BRICKING | ACCUMULATE]) + bytes([2]) + struct.pack("<IB", 4, 3)
    + uniform(9, special("1e38")) + bytes([0]) + label(5),
    # W2 Adam, never initialised: every step is refused.
    "w2_adam_not_initialised": bytes([W2, ADAM, 0]) + bytes([0] * 5) + struct.pack("<IB", 0, 255)
    + steps(sample(uniform(1, small(1.0)), label(1))),
}

here = os.path.dirname(os.path.abspath(__file__))
os.makedirs(os.path.join(here, "corpus"), exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(here, "corpus", name), "wb") as f:
        f.write(data)
print(f"wrote {len(seeds)} seeds to {os.path.join(here, 'corpus')}")
