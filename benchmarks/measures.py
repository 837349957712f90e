"""Benchmark of the hot loops of ``zoolens measures``, each against its most direct alternative.

Run: ``python benchmarks/measures.py [--n 4000] [--dim 256] [--models 16] [--triplets 4] [--grid 20]``.

1. Linear CKA: streamed cross-products (float64, O(d²) memory) vs the naive n × n centred-Gram
   HSIC formula (O(n²) memory, O(n²d + n³) time: two n × n products with H). No library is
   compared: the CKA packages on PyPI (e.g. ``cka-pytorch``) are single-author and hold all
   features in memory (see ``docs/measures.md``). Bound: the Gram form costs ~2n³ + 2n²d flops
   against 4nd² for the streamed one, so the ratio grows like n²/d² for n ≫ d.
2. Error consistency + disagreement for every pair of M models: two matrix products vs a
   Python loop over pairs and images. Bound: both are O(M²n); the ratio is the interpreter's
   per-element overhead over BLAS.
3. Somepalli planes: batched grid points (``batch_size`` per forward) vs one forward per point.
   Bound: at most the batch size (per-call overhead amortised), lower once compute dominates.

Each pair of implementations is timed in the same process, interleaved, median of repeats,
and checked equal before timing.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from zoolens.similarity.measures.agreement import (disagreement, disagreement_matrix, error_consistency_matrix,
                                                   error_consistency_naive)
from zoolens.similarity.measures.boundary import (draw_triplets, plane_predictions, plane_predictions_naive,
                                                  triplet_coefficients)
from zoolens.similarity.measures.cka import linear_cka, linear_cka_naive


def _time(fn, repeats: int) -> float:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


def bench_cka(n: int, dim: int, repeats: int) -> dict:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, dim)).astype(np.float32)
    y = (x @ rng.normal(size=(dim, dim)) + rng.normal(size=(n, dim))).astype(np.float32)
    assert abs(linear_cka(x, y) - linear_cka_naive(x, y)) < 1e-8
    fast = _time(lambda: linear_cka(x, y, batch_size=1024), repeats)
    naive = _time(lambda: linear_cka_naive(x, y), repeats)
    return {"loop": "linear CKA", "size": f"n={n}, d={dim}", "fast_s": fast, "naive_s": naive,
            "ratio": naive / fast, "bound": f"~(2n³+2n²d)/(4nd²) = {(2 * n**3 + 2 * n * n * dim) / (4 * n * dim**2):.0f}",
            "memory": f"{8 * 3 * dim * dim / 2**20:.1f} MiB vs {8 * 3 * n * n / 2**20:.0f} MiB"}


def bench_agreement(models: int, n: int, repeats: int) -> dict:
    rng = np.random.default_rng(1)
    preds = rng.integers(0, 10, size=(models, n))
    labels = rng.integers(0, 10, size=n)
    correct = preds == labels

    def fast():
        error_consistency_matrix(correct)
        disagreement_matrix(preds, 10)

    def naive():
        for i in range(models):
            for j in range(i + 1, models):
                error_consistency_naive(correct[i], correct[j])
                sum(1 for k in range(n) if preds[i, k] != preds[j, k]) / n

    assert abs(disagreement_matrix(preds)[0, 1] - disagreement(preds[0], preds[1])) < 1e-12
    f, s = _time(fast, repeats), _time(naive, max(1, repeats // 3))
    return {"loop": "error consistency + disagreement", "size": f"M={models}, n={n}", "fast_s": f, "naive_s": s,
            "ratio": s / f, "bound": "interpreter overhead per element (both O(M²n))", "memory": "O(M·n·classes)"}


def bench_planes(triplets: int, grid: int, batch: int, repeats: int) -> dict:
    from zoolens.zoo.architectures.resnet import MiniResNet
    from zoolens.models.wrapper import PreprocessConfig, WrappedModel

    torch.manual_seed(0)
    c = 1
    model = WrappedModel(MiniResNet(in_chans=c, num_classes=10).eval(), name="resnet", num_classes=10,
                         preprocess=PreprocessConfig(input_size=(c, 28, 28), crop_pct=1.0, mean=(0.5,), std=(0.5,)))
    g = torch.Generator().manual_seed(0)
    images = (torch.rand(30, c, 28, 28, generator=g) * 255).to(torch.uint8)
    tri = draw_triplets(np.arange(30) % 10, triplets, 0)
    coefs = triplet_coefficients(images, tri, grid)
    assert np.array_equal(plane_predictions(model, images, tri, coefs, batch_size=batch),
                          plane_predictions_naive(model, images, tri, coefs))
    f = _time(lambda: plane_predictions(model, images, tri, coefs, batch_size=batch), repeats)
    s = _time(lambda: plane_predictions_naive(model, images, tri, coefs), max(1, repeats // 3))
    return {"loop": "Somepalli planes", "size": f"T={triplets}, R²={grid * grid}, batch={batch}", "fast_s": f,
            "naive_s": s, "ratio": s / f, "bound": f"≤ batch = {batch}", "memory": "one batch of points"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=4000, help="images for CKA")
    ap.add_argument("--dim", type=int, default=256, help="feature dimension for CKA")
    ap.add_argument("--models", type=int, default=16)
    ap.add_argument("--agree-n", type=int, default=2000)
    ap.add_argument("--triplets", type=int, default=4)
    ap.add_argument("--grid", type=int, default=20)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    import pandas as pd

    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}")
    rows = [bench_cka(args.n, args.dim, args.repeats), bench_agreement(args.models, args.agree_n, args.repeats),
            bench_planes(args.triplets, args.grid, args.batch, args.repeats)]
    df = pd.DataFrame(rows)
    df[["fast_s", "naive_s"]] = df[["fast_s", "naive_s"]].round(4)
    df["ratio"] = df["ratio"].round(1)
    print(df.to_string(index=False))


if __name__ == "__main__":
    main()
