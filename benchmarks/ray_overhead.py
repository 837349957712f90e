"""Ray executor vs local on a small mini-zoo SAT study (same process, side by side), and paper-scale plans.

    python -m benchmarks.ray_overhead [--models 3] [--n-images 64] [--steps 5]

Prints the wall time of each executor, their ratio (Ray/local: the price of task
dispatch, worker start-up and model loading per worker, against the gain of running
units in parallel), checks the SAT matrices are identical, and prints the
``zoolens plan`` estimates of the two papers' full studies (examples/*.toml).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _zoo_refs(k: int) -> list[str]:
    from zoolens.zoo.mini import zoo_dir

    have = [p.stem for p in sorted((zoo_dir("fmnist-mini") / "weights").glob("*.safetensors"))]
    if len(have) < 2:
        raise SystemExit("need ≥ 2 trained mini-zoo models (zoolens zoo train fmnist-mini)")
    return [f"zoo:fmnist-mini/{n}" for n in have[:k]]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", type=int, default=3)
    ap.add_argument("--n-images", type=int, default=64)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--ray-cpus", type=int, default=2)
    ap.add_argument("--skip-plans", action="store_true")
    args = ap.parse_args()

    import ray

    from zoolens.runtime.executors import ExecutorConfig
    from zoolens.similarity import AttackConfig, run_sat

    refs = _zoo_refs(args.models)
    kw = dict(data="fashion-mnist", n_images=args.n_images, attack=AttackConfig("pgd", steps=args.steps),
              batch_size=64, n_resamples=100)
    times = {}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        local = run_sat(refs, out=Path(tmp) / "local", **kw)
        times["local"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        ray.init(num_cpus=args.ray_cpus, include_dashboard=False, log_to_driver=False)
        times["ray_init"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        remote = run_sat(refs, out=Path(tmp) / "ray", executor=ExecutorConfig(kind="ray"), **kw)
        times["ray"] = time.perf_counter() - t0
        ray.shutdown()
    same = local.sat.equals(remote.sat)
    print(f"SAT study: {len(refs)} mini-zoo models, {args.n_images} images, PGD-{args.steps}")
    print(f"local {times['local']:.1f} s | ray {times['ray']:.1f} s (+ ray.init {times['ray_init']:.1f} s) | "
          f"ratio ray/local {times['ray'] / times['local']:.2f} | identical SAT: {same}")
    if args.skip_plans:
        return
    from zoolens.runtime.plan import human_flops, human_seconds, measure_device_flops, plan_study
    from zoolens.runtime.spec import load_study, resolve_study

    dev = measure_device_flops()
    for f in ("criticality_paper.toml", "sat_paper.toml"):
        spec = resolve_study(load_study(ROOT / "examples" / f))
        # the conv probe for "here": timing each of the 69 architectures would dominate this benchmark
        for part, t in plan_study(spec, throughput_tflops=50.0, device_flops=dev, measure=False).totals().items():
            print(f"{f}: {part}: {t['units']} units, {t['forward_passes']:.3g} forward + {t['backward_passes']:.3g} "
                  f"backward passes, {human_flops(t['flops'])} (fast engine {human_flops(t['flops_fast'])}); "
                  f"here (conv probe, {dev['conv'] / 1e9:.0f} GFLOP/s) {human_seconds(t['seconds_here'])}, "
                  f"at 50 TFLOP/s {human_seconds(t['seconds_at_throughput'])}"
                  + (f" (fast {human_seconds(t['seconds_at_throughput_fast'])})" if part == "criticality" else ""))


if __name__ == "__main__":
    main()
