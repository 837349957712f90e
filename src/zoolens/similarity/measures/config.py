"""The settings of a ``measures`` run, declared once (CLI, API, study files and plans read them here).

``data``, ``n_images`` and ``data_seed`` mean what they mean for ``[similarity]``: a study
file's shared ``[data]`` section gives both experiments exactly the same images.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from zoolens.checks import check_device
from zoolens.config import boolean, integer, number, setting, text, validate
from zoolens.errors import ZoolensError

#: Every measure, in the order of the output table's columns.
MEASURES = ("cka", "error_consistency", "disagreement", "somepalli", "tramer")
DEFAULT_MEASURES = ("cka", "error_consistency", "disagreement", "somepalli")


def _measures(value: Any, label_: str) -> list[str]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not items:
        raise ZoolensError(f"{label_} must list measures, got {value!r}", f"e.g. {','.join(DEFAULT_MEASURES)}")
    names = [str(v).strip().lower() for v in items]
    unknown = [v for v in names if v not in MEASURES]
    if unknown:
        raise ZoolensError(f"unknown measure(s) {', '.join(unknown)} in {label_}", f"use some of {', '.join(MEASURES)}")
    return [m for m in MEASURES if m in names]  # canonical order, no repeats


def _device(value: Any, label_: str) -> str | None:
    return check_device(value, label_, require_available=False)


@dataclasses.dataclass
class MeasuresConfig:
    """Other similarity measures between models on the same images (see ``docs/measures.md``).

    Linear CKA on penultimate features (Kornblith et al. 2019), error consistency (Geirhos
    et al. 2020), top-1 disagreement, decision-boundary planes (Somepalli et al. 2022) and the
    inter-boundary distance (Tramèr et al. 2017; opt-in: ``measures`` with ``tramer``).
    """

    data: str = setting("fashion-mnist", check=text(example="fashion-mnist"),
                        help="Evaluation source: fashion-mnist[:test|train], digits, imagefolder:PATH.")
    n_images: int = setting(500, check=integer(2), flag="--n-images", help="Eval images (as for similarity).")
    data_seed: int = setting(0, check=integer(0), help="Seed of the eval subset.")
    measures: list = setting(default_factory=lambda: list(DEFAULT_MEASURES), check=_measures,
                             help=f"Comma-separated, of {','.join(MEASURES)}.")
    triplets: int = setting(50, check=integer(1), help="Somepalli: image triplets (paper: 500).")
    grid: int = setting(50, check=integer(2), help="Somepalli: grid points per plane side (paper: 50, i.e. 2,500).")
    plane_margin: float = setting(0.1, check=number(minimum=0.0), help="Somepalli: plane margin beyond the triangle.")
    plane_seed: int = setting(0, check=integer(0), help="Seed of the triplets and of Tramèr's directions.")
    tramer_images: int = setting(100, check=integer(1), help="Tramèr: first N eval images searched.")
    tramer_scan: int = setting(32, check=integer(2), help="Tramèr: scan points per direction.")
    tramer_refine: int = setting(10, check=integer(0), help="Tramèr: bisection steps after the scan.")
    tramer_max_distance: float = setting(10.0, check=number(positive=True),
                                         help="Tramèr: L2 range of the random direction ([0,1] pixels).")
    batch_size: int = setting(256, check=integer(1), help="Images per forward pass.")
    device: str | None = setting(None, check=_device, help="cpu | cuda (default: cuda if available).")
    trust_checkpoint: bool = setting(False, check=boolean(), help="Allow unpickling .pth files (runs their code).")

    def __post_init__(self) -> None:
        validate(self)

    def result_spec(self) -> dict[str, Any]:
        """What determines the tables (not the models: they can be added; not batch_size or device)."""
        spec = {"data": self.data, "n_images": self.n_images, "data_seed": self.data_seed,
                "measures": list(self.measures)}
        if "somepalli" in self.measures:
            spec["somepalli"] = {"triplets": self.triplets, "grid": self.grid, "margin": self.plane_margin,
                                 "seed": self.plane_seed}
        if "tramer" in self.measures:
            spec["tramer"] = {"images": min(self.tramer_images, self.n_images), "scan": self.tramer_scan,
                              "refine": self.tramer_refine, "max_distance": self.tramer_max_distance,
                              "seed": self.plane_seed}
        return spec


__all__ = ["DEFAULT_MEASURES", "MEASURES", "MeasuresConfig"]
