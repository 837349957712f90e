"""Hard-distillation labels: the teacher's argmax on the very batch the student sees.

Hinton et al. 2015 with a temperature → 0, as DeiT's "hard" distillation (Touvron et al. 2021) that
the SAT paper uses for its students (App. E): the student's cross-entropy target is the teacher's
top-1 class, the true label is never used. Each batch reaches the teacher as the student receives
it (augmented, at the student's input size) and is resized to the teacher's input size, as the
paper resizes images for a teacher of another resolution; the teacher is in eval mode and runs
without gradients, inside its own preprocessing wrapper (normalization is the wrapper's).
"""

from __future__ import annotations

import torch
from torch import nn

from zoolens.zoo.augment import resize_to
from zoolens.zoo.train import TargetFn


def teacher_labels(teacher: nn.Module) -> TargetFn:
    """The ``targets`` function of :func:`zoolens.zoo.train.train_recipe` for hard distillation from ``teacher``.

    Parameters
    ----------
    teacher:
        A wrapped model (``load_model``): takes [0,1] images at ``teacher.input_size``.

    Returns
    -------
    callable
        ``(x, y) -> teacher(resize(x)).argmax(1)`` as int64, under ``torch.no_grad`` with the teacher in
        eval mode; ``y`` (the true labels) is ignored.
    """
    teacher.eval()
    size = tuple(teacher.input_size)

    def targets(x: torch.Tensor, _true: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return teacher(resize_to(x, (int(size[-2]), int(size[-1])))).argmax(1).to(torch.int64)

    return targets


__all__ = ["teacher_labels"]
