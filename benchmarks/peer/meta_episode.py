#!/usr/bin/python3
"""One meta-learning episode with its exact meta-gradient, as the predecessor computes it: reverse-mode autograd
through the unrolled online episode (PyTorch). The peer of PlasticityDsl's `meta gradient`.

Network 784-170-130-100-70-20, no biases, softplus (beta = 10) hidden units, softmax output, float32, feedback
alignment (fixed random B_l, plastic through dB), Xavier-uniform W and B. Rule Eq. 9 (examples/rules/eq9.rule):

  dW = -t0 e_l y_{l-1}^T + t1 e_l e_{l-1}^T + t2 (y_l y_{l-1}^T - (y_l y_l^T) W) - t3 W
  dB = -t4 y_l e_{l-1}^T + t9 B

One online step on (x, label): forward pass; e_L = softmax(z_L) - onehot; e_l = (B_{l+1}^T e_{l+1}) * sigmoid(beta z_l);
e_0 = B_1^T e_1; every W_l, B_l updated from the pre-update state. After `--steps` steps, the query loss (mean
cross-entropy over `--query` images, one batch) is backpropagated to theta through the whole episode: the graph of
every step is kept, so memory grows with the episode length.

Forms: `reassoc` (default, the best we could write: (y_l y_l^T) W as y_l (W^T y_l)^T) and `literal` (the predecessor's
dense n x n product).

  meta_episode.py --steps 250 --repeat 5   -> one JSON line: seconds per episode (median, min), warm-up episodes,
                                              page faults in the timed episodes, peak RSS growth
"""
import argparse
import json
import resource
import sys
import time

import torch

SIZES = [784, 170, 130, 100, 70, 20]
BETA = 10.0
THETA = {"t0": 1e-2, "t1": 1e-3, "t2": 1e-4, "t3": 1e-5, "t4": 1e-3, "t9": 1e-5}


def xavier(generator, shape):
    fan_out, fan_in = shape
    bound = (6.0 / (fan_in + fan_out)) ** 0.5
    return (torch.rand(fan_out, fan_in, generator=generator) * 2 - 1) * bound


def synthetic_episode(steps, query, generator):
    """MNIST-like inputs (about 19 % of pixels non-zero, in (0.05, 1)) and labels from 5 of the 20 classes."""
    def images(count):
        mask = torch.rand(count, 784, generator=generator) < 0.19
        return torch.where(mask, 0.05 + 0.95 * torch.rand(count, 784, generator=generator), torch.zeros(()))
    classes = torch.randperm(20, generator=generator)[:5]
    return (images(steps), classes[torch.randint(0, 5, (steps,), generator=generator)],
            images(query), classes[torch.randint(0, 5, (query,), generator=generator)])


def episode(theta, weights, feedback, train_x, train_y, query_x, query_y, form):
    t0, t1, t2, t3, t4, t9 = (theta[k] for k in ("t0", "t1", "t2", "t3", "t4", "t9"))
    layers = len(weights)
    for x, label in zip(train_x, train_y):
        ys, zs = [x], [None]
        for l, w in enumerate(weights, start=1):
            z = torch.mv(w, ys[-1])
            zs.append(z)
            ys.append(torch.softmax(z, 0) if l == layers else torch.nn.functional.softplus(z, beta=BETA))
        e = [None] * (layers + 1)
        e[layers] = ys[layers] - torch.nn.functional.one_hot(label, SIZES[-1]).to(ys[layers].dtype)
        for l in range(layers - 1, 0, -1):
            e[l] = torch.mv(feedback[l].t(), e[l + 1]) * torch.sigmoid(BETA * zs[l])
        e[0] = torch.mv(feedback[0].t(), e[1])
        new_w, new_b = [], []
        for l in range(1, layers + 1):
            w, b, post, pre = weights[l - 1], feedback[l - 1], ys[l], ys[l - 1]
            if form == "literal":
                oja = torch.outer(post, pre) - torch.outer(post, post) @ w
            else:
                oja = torch.outer(post, pre - torch.mv(w.t(), post))
            new_w.append(w - t0 * torch.outer(e[l], pre) + t1 * torch.outer(e[l], e[l - 1]) + t2 * oja - t3 * w)
            new_b.append(b - t4 * torch.outer(post, e[l - 1]) + t9 * b)
        weights, feedback = new_w, new_b
    h = query_x
    for l, w in enumerate(weights, start=1):
        h = h @ w.t()
        if l < layers:
            h = torch.nn.functional.softplus(h, beta=BETA)
    return torch.nn.functional.cross_entropy(h, query_y)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=250)
    parser.add_argument("--query", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--max-warmup", type=int, default=8, help="most warm-up episodes (they stop at one that takes no new pages)")
    parser.add_argument("--form", choices=["reassoc", "literal"], default="reassoc")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    generator = torch.Generator().manual_seed(1)
    data = synthetic_episode(args.steps, args.query, generator)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    # One episode in a function scope, so that its graph is freed before the next one starts.
    def timed_episode():
        theta = {k: torch.tensor(v, requires_grad=True) for k, v in THETA.items()}
        weights = [xavier(generator, (o, i)) for o, i in zip(SIZES[1:], SIZES[:-1])]
        feedback = [xavier(generator, (o, i)) for o, i in zip(SIZES[1:], SIZES[:-1])]
        start = time.perf_counter()
        loss = episode(theta, weights, feedback, *data, args.form)
        loss.backward()
        seconds = time.perf_counter() - start
        if not all(torch.isfinite(t.grad) for t in theta.values()):
            raise SystemExit("non-finite meta-gradient")
        return seconds

    # Warm up until an episode takes no new pages: the first episodes fault in the graph's gigabytes (on a freshly
    # booted VM, 2-9 s each against 0.7 s once the heap holds them), which is memory set-up, not the method's speed.
    def page_faults():
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt

    warmup = 0
    while True:
        before = page_faults()
        timed_episode()
        warmup += 1
        if page_faults() == before or warmup == args.max_warmup:
            break
    before = page_faults()
    times = sorted(timed_episode() for _ in range(args.repeat))
    faults = page_faults() - before
    rss_growth_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    print(json.dumps({"side": "pytorch-autograd", "form": args.form, "steps": args.steps, "threads": args.threads,
                      "seconds_per_episode": round(times[len(times) // 2], 4), "min": round(times[0], 4),
                      "warmup_episodes": warmup, "page_faults_timed": faults,
                      "peak_rss_growth_mb": round(rss_growth_mb, 1), "torch": torch.__version__}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
