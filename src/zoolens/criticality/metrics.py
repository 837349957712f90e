"""Per-image distances between clean and randomized predictions, and their running means.

criticality(l, s) = (1/n) Σ_i [1 − cos(p(x_i), p_{l,s}(x_i))] with p = softmax(f(x))
(criticality paper, Sec. 3). Images whose randomized output is non-finite are
excluded from every mean and counted, never averaged away silently. The unmodified
model's outputs are the reference for every metric, so a non-finite one is an error
(as in SAT): there is nothing to compare against.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from zoolens.errors import ZoolensError

METRIC_COLUMNS = ("cosine_distance", "top1_agreement", "accuracy", "l1", "l2", "nonfinite")


@dataclass
class MetricSums:
    """Running sums over batches for one (layer, seed); float64 so batch order barely matters.

    ``per_image`` keeps each image's 1 − cos (float64, NaN where the output was non-finite),
    one array per batch in image order, for the standard error over images
    (:mod:`zoolens.criticality.adaptive`): 8 bytes per image, layer and seed.
    """

    cosine: float = 0.0
    agree: float = 0.0
    correct: float = 0.0
    l1: float = 0.0
    l2: float = 0.0
    n_finite: int = 0
    n_nonfinite: int = 0
    n_labelled: int = 0
    extra: dict = field(default_factory=dict)
    per_image: list = field(default_factory=list)

    def update(self, clean_probs: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor | None) -> None:
        """Add one batch. ``clean_probs``: softmax of the unmodified model, (B, K)."""
        logits = logits.float()
        finite = torch.isfinite(logits).all(dim=1)
        self.n_nonfinite += int((~finite).sum())
        values = np.full(len(finite), np.nan)
        self.per_image.append(values)
        if not bool(finite.any()):
            return
        p = clean_probs[finite].double()
        q = torch.softmax(logits[finite].double(), dim=1)
        cos = torch.nn.functional.cosine_similarity(p, q, dim=1, eps=1e-12)
        diff = p - q
        distance = 1.0 - cos
        values[finite.cpu().numpy()] = distance.cpu().numpy()
        self.cosine += float(distance.sum())
        self.l1 += float(diff.abs().sum(dim=1).sum())
        self.l2 += float(diff.norm(dim=1).sum())
        pred = q.argmax(dim=1)
        self.agree += float((pred == p.argmax(dim=1)).sum())
        self.n_finite += int(finite.sum())
        if labels is not None:
            self.correct += float((pred == labels[finite]).sum())
            self.n_labelled += int(finite.sum())

    def merged(self, other: "MetricSums") -> "MetricSums":
        """The sums of both (``self``'s images first): the metrics of the union of their images."""
        return MetricSums(cosine=self.cosine + other.cosine, agree=self.agree + other.agree,
                          correct=self.correct + other.correct, l1=self.l1 + other.l1, l2=self.l2 + other.l2,
                          n_finite=self.n_finite + other.n_finite, n_nonfinite=self.n_nonfinite + other.n_nonfinite,
                          n_labelled=self.n_labelled + other.n_labelled, extra={**self.extra, **other.extra},
                          per_image=self.per_image + other.per_image)

    def image_values(self) -> np.ndarray:
        """Each image's 1 − cos in image order (NaN: non-finite output)."""
        return np.concatenate(self.per_image) if self.per_image else np.zeros(0)

    def result(self) -> dict[str, float]:
        n = self.n_finite
        nan = float("nan")
        return {
            "cosine_distance": self.cosine / n if n else nan,
            "top1_agreement": self.agree / n if n else nan,
            "accuracy": self.correct / self.n_labelled if self.n_labelled else nan,
            "l1": self.l1 / n if n else nan,
            "l2": self.l2 / n if n else nan,
            "nonfinite": self.n_nonfinite,
        }


def merge_into(sums: dict, new: dict) -> None:
    """Add ``new``'s metric sums (later images) to ``sums``, key by key (a new key is taken as it is)."""
    for key, value in new.items():
        sums[key] = sums[key].merged(value) if key in sums else value


def clean_probabilities(logits: torch.Tensor, name: str = "the model") -> torch.Tensor:
    """Softmax of the unmodified model's logits, in float64 (the reference for every metric).

    Raises :class:`ZoolensError` when a logit is NaN/inf: distances, agreement and
    accuracy against argmax(NaN) would be meaningless.
    """
    finite = torch.isfinite(logits).all(dim=1)
    if not bool(finite.all()):
        raise ZoolensError(f"unmodified {name} gives non-finite outputs on {int((~finite).sum())} of "
                           f"{len(finite)} images in a batch", "check its weights and preprocessing (or exclude it)")
    return torch.softmax(logits.double(), dim=1)
