#!/usr/bin/python3
"""The online step of PlasticityDsl's OnlineLearner.Step, in PyTorch: the peer of our generated kernels.

Network 784-170-130-100-70-10, no biases, softplus (beta = 10) hidden units, softmax output, float32.
One step on sample (x, label): forward pass; e_L = softmax(z_L) - onehot(label); e_l = (W_{l+1}^T e_{l+1}) * sigmoid(beta z_l)
for l = L-1 .. 1 (e_0 is not needed: bp and bp_oja read only e_l); then, for every layer, W_l += dW_l computed from
the pre-update state, in place, no autograd:

  bp:      dW = -t0 e_l y_{l-1}^T
  bp_oja:  dW = -t0 e_l y_{l-1}^T + t2 (y_l y_{l-1}^T - (y_l y_l^T) W)

Two forms of the same step:
  literal  as the predecessor's code (MetaLearning-Plasticity, optim.py) writes it: every term is a dense matrix built
           with matmul, (y_l y_l^T) W is an n x n matrix times W (170^2 * 784 = 22.7 M multiply-adds for W_1),
           then W += dW;
  reassoc  the best we could write in PyTorch: y_l (W^T y_l)^T with one matrix-vector product, like terms merged
           ((-t0 e_l + t2 y_l) y_{l-1}^T), rank-one updates in place with addr_.
For bp the two forms differ only in building the dense update matrix (literal) or not (reassoc).

  online_step.py --rule bp_oja --form reassoc --threads 1 --seconds 2   -> one JSON line with samples/s
  online_step.py --check weights.npz   (from `PlasticityDsl.Benchmarks --peer-check weights.npz`)
      -> both forms reproduce the C# weights after 32 steps
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

SIZES = [784, 170, 130, 100, 70, 10]
BETA = 10.0
THETA = {"bp": (0.0075, 0.0), "bp_oja": (0.01, 3e-5)}  # (t0, t2): benchmarks/PlasticityDsl.Benchmarks/Workloads.cs


def forward_and_errors(weights, x, label):
    """y_0..y_L, e_1..e_L (index l), all from the current (pre-update) weights."""
    layers = len(weights)
    ys, zs = [x], [None]
    h = x
    for l, w in enumerate(weights, start=1):
        z = torch.mv(w, h)
        h = F.softplus(z, beta=BETA) if l < layers else torch.softmax(z, 0)
        zs.append(z)
        ys.append(h)
    e = [None] * (layers + 1)
    e_out = ys[layers].clone()
    e_out[label] -= 1.0
    e[layers] = e_out
    for l in range(layers - 1, 0, -1):
        e[l] = torch.mv(weights[l].t(), e[l + 1]).mul_(torch.sigmoid(zs[l] * BETA))
    return ys, e


def step_literal(weights, x, label, rule, t0, t2):
    ys, e = forward_and_errors(weights, x, label)
    for l, w in enumerate(weights, start=1):
        post, pre, err = ys[l].unsqueeze(1), ys[l - 1].unsqueeze(1), e[l].unsqueeze(1)  # column vectors
        dw = -t0 * torch.matmul(err, pre.t())
        if rule == "bp_oja":
            dw = dw + t2 * (torch.matmul(post, pre.t()) - torch.matmul(torch.matmul(post, post.t()), w))
        w.add_(dw)


def step_reassoc(weights, x, label, rule, t0, t2):
    ys, e = forward_and_errors(weights, x, label)
    for l, w in enumerate(weights, start=1):
        post, pre, err = ys[l], ys[l - 1], e[l]
        if rule == "bp":
            w.addr_(err, pre, alpha=-t0)
        else:
            v = torch.mv(w.t(), post)                     # W^T y_l before W changes
            w.addr_(err.mul(-t0).add_(post, alpha=t2), pre)  # (-t0 e_l + t2 y_l) y_{l-1}^T
            w.addr_(post, v, alpha=-t2)                   # - t2 y_l (W^T y_l)^T


STEPS = {"literal": step_literal, "reassoc": step_reassoc}


def xavier(generator):
    weights = []
    for fan_out, fan_in in zip(SIZES[1:], SIZES[:-1]):
        bound = (6.0 / (fan_in + fan_out)) ** 0.5
        weights.append((torch.rand(fan_out, fan_in, generator=generator) * 2 - 1) * bound)
    return weights


def synthetic_mnist(count, generator):
    """MNIST-like inputs: about 19% of pixels non-zero, in (0.05, 1); random labels (as Workloads.SyntheticMnist)."""
    mask = torch.rand(count, 784, generator=generator) < 0.19
    values = 0.05 + 0.95 * torch.rand(count, 784, generator=generator)
    images = torch.where(mask, values, torch.zeros(()))
    labels = torch.randint(0, 10, (count,), generator=generator).tolist()
    return images, labels


def measure(rule, form, threads, seconds):
    torch.set_num_threads(threads)
    generator = torch.Generator().manual_seed(1)
    weights = xavier(generator)
    images, labels = synthetic_mnist(64, generator)
    t0, t2 = THETA[rule]
    step = STEPS[form]
    samples = [images[k] for k in range(64)]

    initial = [w.clone() for w in weights]
    done = [0]

    def run(count):
        for _ in range(count):
            k = done[0] = done[0] + 1
            if k % 4096 == 0:  # back to the initial weights, as StepFixture.RestartEvery does on our side
                for w, w0 in zip(weights, initial):
                    w.copy_(w0)
            step(weights, samples[k % 64], labels[k % 64], rule, t0, t2)

    with torch.no_grad():
        start = time.perf_counter()
        warm = 0
        while time.perf_counter() - start < 0.5 or warm < 3:  # warm up: allocator, BLAS threads
            run(1)
            warm += 1
        per_step = (time.perf_counter() - start) / warm
        per_round = max(1, int(seconds / 5 / per_step))
        rates = []
        for _ in range(5):
            start = time.perf_counter()
            run(per_round)
            rates.append(per_round / (time.perf_counter() - start))
    if not all(torch.isfinite(w).all() for w in weights):
        raise SystemExit("diverged")
    rates.sort()
    return {"side": "pytorch", "rule": rule, "form": form, "threads": threads,
            "samples_per_second": round(rates[2], 1), "min": round(rates[0], 1), "max": round(rates[-1], 1),
            "torch": torch.__version__, "blas": os.environ.get("PEER_BLAS", "system")}


def check(path):
    """Both forms, from the C# initial weights and samples, must land on the C# weights after the same 32 steps."""
    data = np.load(path)
    images = torch.from_numpy(data["X"])
    labels = [int(v) for v in data["labels"][:, 0]]
    worst = 0.0
    with torch.no_grad():
        for rule in ("bp", "bp_oja"):
            theta = data[f"theta_{rule}"][0]
            for form, step in STEPS.items():
                weights = [torch.from_numpy(data[f"W{l}"]).clone() for l in range(1, len(SIZES))]
                for k in range(images.shape[0]):
                    step(weights, images[k], labels[k], rule, float(theta[0]), float(theta[2]))
                for l, w in enumerate(weights, start=1):
                    expected = torch.from_numpy(data[f"{rule}_W{l}"])
                    change = (expected - torch.from_numpy(data[f"W{l}"])).norm()
                    error = (w - expected).norm() / change  # relative to how far the weights moved
                    worst = max(worst, float(error))
                    print(f"{rule:7s} {form:8s} W{l}: |dW_torch - dW_ours| / |dW_ours| = {float(error):.2e}")
    ok = worst < 1e-3
    print("check", "passed" if ok else "FAILED", f"(worst {worst:.2e}, tolerance 1e-3)")
    return 0 if ok else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rule", choices=sorted(THETA), default="bp_oja")
    parser.add_argument("--form", choices=sorted(STEPS), default="reassoc")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--check", metavar="NPZ")
    args = parser.parse_args()
    if args.check:
        return check(args.check)
    print(json.dumps(measure(args.rule, args.form, args.threads, args.seconds)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
