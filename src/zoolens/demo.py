"""``zoolens demo`` / ``make demo``: the whole pipeline on the shipped mini zoo, end to end.

1. Criticality of the ResNet training-method zoo (baseline, seed, hparam, label
   smoothing, mixup/cutmix, strong augmentation, PGD-AT ×3, improved recipe).
2. SAT between all models of all families.
3. Every analysis, then one self-contained ``report.html``.

Both runs live in run directories under ``out`` (default ``runs/demo``), so an
interrupted demo resumes where it stopped. Settings are sized for ≈10 minutes on a
2-core CPU; they are written into the report.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

from zoolens.criticality import criticality
from zoolens.errors import ZoolensError
from zoolens.report import analyze, build_report
from zoolens.similarity.run import run_sat
from zoolens.zoo import manifest_rows, recipe_for, zoo_dir, zoo_model_names

ZOO = "fmnist-mini"


@dataclass
class DemoSettings:
    """The demo's budget (documented in docs/analysis.md and printed in the report)."""

    criticality_images: int = 500
    criticality_seeds: int = 3
    sat_images: int = 500
    pgd_steps: int = 10
    # On Fashion-MNIST, PGD at the paper's 8/255 leaves 30-45 % of a baseline's correctly
    # classified images unbroken even white-box (docs/similarity.md); 16/255 puts the
    # white-box success near 100 %, the regime the paper's ImageNet setting is in.
    eps: float = 16 / 255
    alpha: float = 4 / 255
    data: str = "fashion-mnist"
    # Only these zoo models (None: all of them). A smaller zoo for a quick look or a smoke test.
    only: Optional[list[str]] = None

    def describe(self) -> str:
        """The settings as one paragraph of the report."""
        text = (f"Demo settings: criticality on {self.criticality_images} {self.data} test images with "
                f"{self.criticality_seeds} seeds (architecture's own init); SAT on {self.sat_images} images with "
                f"PGD-{self.pgd_steps}, ε = {self.eps * 255:g}/255, α = {self.alpha * 255:g}/255, random start "
                f"(the paper uses PGD-50 at 8/255 on 5,000 ImageNet images; on Fashion-MNIST 8/255 leaves many "
                f"images unbroken even white-box, so the budget is doubled); ensembles on the SAT run's clean images.")
        if self.only:
            text += f" Only these models of the zoo: {', '.join(self.only)}."
        return text


def available_models(zoo: str = ZOO) -> tuple[list[str], list[str]]:
    """(trained, missing) model names of ``zoo`` (weights file and manifest row present)."""

    rows = {r["name"] for r in manifest_rows(zoo)}
    trained, missing = [], []
    for name in zoo_model_names(zoo):
        ok = name in rows and (zoo_dir(zoo) / "weights" / f"{name}.safetensors").is_file()
        (trained if ok else missing).append(name)
    return trained, missing


def demo(out: str | Path = "runs/demo", settings: DemoSettings | None = None, *, skip_missing: bool = False,
         progress: bool = True, log=print) -> Path:
    """Run the demo and return the path of its ``report.html``.

    Parameters
    ----------
    out:
        Folder for ``criticality/``, ``similarity/``, ``report.html`` and ``demo_timings.json``.
    settings:
        Budget (default :class:`DemoSettings`).
    skip_missing:
        Run on the zoo models that have weights instead of failing when some are missing.
    """

    s = settings or DemoSettings()
    out = Path(out)
    trained, missing = _selected(s.only, *available_models(ZOO))
    if missing and not skip_missing:
        raise ZoolensError(f"{len(missing)} mini-zoo models have no weights yet ({', '.join(missing[:4])}"
                           f"{', …' if len(missing) > 4 else ''})",
                           f"train them with `zoolens zoo train {ZOO}`, or skip them (skip_missing=True; zoolens demo --skip-missing)")
    if len(trained) < 2:  # SAT needs a pair
        if s.only:
            raise ZoolensError(f"the demo needs two trained models, the chosen ones have {len(trained)}",
                               "choose at least two trained models")
        raise ZoolensError(f"only {len(trained)} mini-zoo model(s) are trained", f"run `zoolens zoo train {ZOO}`")
    resnets = [n for n in trained if recipe_for(ZOO, n).family == "resnet"]
    if not resnets:  # the criticality half of the demo studies the ResNet training methods
        raise ZoolensError("the chosen models include no ResNet", "add one, e.g. --only resnet_baseline")
    timings: dict[str, float] = {}
    t_all = time.perf_counter()

    t0 = time.perf_counter()
    log(f"[1/4] criticality of {len(resnets)} ResNet training-method models → {out / 'criticality'}")
    criticality([f"zoo:{ZOO}/{n}" for n in resnets], data=s.data, n_images=s.criticality_images,
                seeds=s.criticality_seeds, out=out / "criticality", progress=progress)
    timings["criticality_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    log(f"[2/4] SAT between {len(trained)} models → {out / 'similarity'}")
    run_sat([f"zoo:{ZOO}/{n}" for n in trained], data=s.data, n_images=s.sat_images, attack="pgd", eps=s.eps,
            alpha=s.alpha, steps=s.pgd_steps, out=out / "similarity", progress=progress)
    timings["sat_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    log("[3/4] analyses")
    analyze(out / "criticality")
    analyze(out / "similarity", progress=progress)
    timings["analysis_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    log("[4/4] report")
    timings["total_before_report_s"] = time.perf_counter() - t_all
    preface = s.describe()
    if missing:
        preface += f" Models without weights, left out: {', '.join(missing)}."
    report = build_report([out / "criticality", out / "similarity"], out / "report.html",
                          title="zoolens demo: the fmnist-mini zoo", preface=preface)
    timings["report_s"] = time.perf_counter() - t0
    timings["total_s"] = time.perf_counter() - t_all
    (out / "demo_timings.json").write_text(json.dumps({"settings": asdict(s), "timings_s": timings,
                                                       "models": trained, "missing": missing}, indent=1))
    return report


def _selected(only: Optional[list[str]], trained: list[str], missing: list[str]) -> tuple[list[str], list[str]]:
    """(trained, missing) restricted to ``only`` (all when ``None``), in zoo order; unknown names raise."""
    if not only:
        return trained, missing
    unknown = [n for n in only if n not in trained and n not in missing]
    if unknown:
        raise ZoolensError(f"zoo {ZOO} has no model(s) {', '.join(unknown)}",
                           f"choose from: {', '.join(trained + missing)}")
    return [n for n in trained if n in only], [n for n in missing if n in only]


__all__ = ["DemoSettings", "available_models", "demo"]
