"""kullback.losses against the plain torch expressions they replace: time (forward + backward) and
the memory the autograd graph keeps for backward, in one process, side by side.

    python benchmarks/bench_losses.py [--device cpu|cuda] [--repeats 20] [--out docs/benchmarks-losses.md]
    (docs/benchmarks-losses.md: OMP_NUM_THREADS=1 PYTHONPATH=src:benchmarks ... --repeats 40)

Plain expressions: the VAE term ``-0.5 * (1 + lv - mu**2 - lv.exp()).sum(-1).mean()``;
distillation ``F.kl_div(F.log_softmax(s, -1), F.softmax(t, -1), reduction="batchmean")``;
k3 ``(r.exp() - 1 - r).mean()``. Memory: the bytes of the tensors saved for backward (counted by
``torch.autograd.graph.saved_tensors_hooks``), the part of a loss's memory that lives until the
backward pass.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from kullback.losses import gaussian_kl, kl_logits, kl_logprob


def cases(device, dtype=torch.float32):
    g = torch.Generator(device="cpu").manual_seed(0)

    def rand(*shape):
        return torch.randn(*shape, generator=g, dtype=dtype).to(device)

    mu, lv = rand(4096, 64), rand(4096, 64)
    t, s = rand(256, 32000) * 3, rand(256, 32000) * 3
    lp, lq = rand(64, 4096) * 0.1 - 5, rand(64, 4096) * 0.1 - 5
    return [
        ("gaussian_kl (4096 x 64)", (mu, lv), lambda a, b: gaussian_kl(a, b), lambda a, b: -0.5 * (1 + b - a**2 - b.exp()).sum(-1).mean()),
        (
            "kl_logits (256 x 32000)",
            (t, s),
            lambda a, b: kl_logits(a, b),
            lambda a, b: F.kl_div(F.log_softmax(b, -1), F.softmax(a, -1), reduction="batchmean"),
        ),
        (
            "kl_logprob k3 (64 x 4096)",
            (lp, lq),
            lambda a, b: kl_logprob(a, b, estimator="k3"),
            lambda a, b: ((b - a).exp() - 1 - (b - a)).mean(),
        ),
    ]


def saved_bytes(fn, inputs) -> int:
    total = 0

    def pack(x):
        nonlocal total
        total += x.numel() * x.element_size()
        return x

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda x: x):
        fn(*inputs)
    return total


def timed(ours, plain, inputs, repeats, device) -> tuple[list, list]:
    """Forward + backward times of both, interleaved (ours, plain, plain, ours, ...): a shared machine's load hits both alike."""
    out = ([], [])
    for i in range(repeats + 2):
        order = (0, 1) if i % 2 == 0 else (1, 0)
        for j in order:
            xs = [x.detach().requires_grad_(True) for x in inputs]
            if device == "cuda":
                torch.cuda.synchronize()
            t = time.perf_counter()
            (ours, plain)[j](*xs).backward()
            if device == "cuda":
                torch.cuda.synchronize()
            out[j].append(time.perf_counter() - t)
    return out[0][2:], out[1][2:]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    rows = []
    for name, inputs, ours, plain in cases(args.device):
        xs = [x.detach().requires_grad_(True) for x in inputs]
        a, b = float(ours(*xs)), float(plain(*xs))
        so, sp = timed(ours, plain, inputs, args.repeats, args.device)
        to, tp = statistics.median(so), statistics.median(sp)
        pair = statistics.median(o / q for o, q in zip(so, sp))  # each ratio from two runs side by side
        mo, mp_ = saved_bytes(ours, xs), saved_bytes(plain, xs)
        rows.append(
            f"| {name} | {a:.6g} | {b:.6g} | {1e3 * to:.2f} | {1e3 * tp:.2f} | {to / tp:.2f} | {pair:.2f} | {min(so) / min(sp):.2f} "
            f"| {mo / 2**20:.1f} | {mp_ / 2**20:.1f} |"
        )
        print(rows[-1], flush=True)
    from _common import cpu_name, publish

    text = "\n".join(
        [
            "# kullback.losses vs the plain torch expressions",
            "",
            f"Forward + backward, median of {args.repeats} runs of each, interleaved, float32, device {args.device}; "
            "ratio: of the medians; paired: the median of the ratios of runs side by side; min: of the fastest runs. "
            "Memory: tensors saved for backward.",
            "",
            "| loss | value (ours) | value (plain) | ours ms | plain ms | ratio | paired | min | ours MiB saved | plain MiB saved |",
            "|---|---|---|---|---|---|---|---|---|---|",
            *rows,
            "",
            f"Machine: {cpu_name()}, torch {torch.__version__}, {torch.get_num_threads()} threads.",
        ]
    )
    publish(text + "\n", args.out)


if __name__ == "__main__":
    main()
