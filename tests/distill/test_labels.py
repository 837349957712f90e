"""Hard-distillation labels: exactly the teacher's argmax on the student's batch; a teacher that returns the
true labels trains bitwise like ordinary training (the hook changes nothing else)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from zoolens.distill.config import student_recipe
from zoolens.distill.labels import teacher_labels
from zoolens.errors import ZoolensError
from zoolens.models import load_model
from zoolens.zoo.augment import load_split
from zoolens.zoo.recipes import ZOO_RECIPES
from zoolens.zoo.train import state_digest, train_recipe

RECIPE = student_recipe(1)


class OracleTeacher(nn.Module):
    """Reads the class off a constant image of intensity 20·(class + 1)/255 (flips and resizes keep it)."""

    input_size = (1, 28, 28)
    num_classes = 10

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cls = (x.mean(dim=(1, 2, 3)) * 255 / 20 - 1).round().long().clamp(0, 9)
        return F.one_hot(cls, 10).float()


def _constant_images(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    y = torch.arange(n) % 10
    x = (20 * (y + 1)).to(torch.uint8).view(n, 1, 1, 1).expand(n, 1, 28, 28).contiguous()
    return x, y


def test_the_labels_are_the_teachers_argmax_on_the_batch_the_student_sees():
    teacher = load_model("zoo:fmnist-mini/resnet_baseline")
    x, y = load_split("train")
    seen = []
    hook = teacher_labels(teacher)

    def spy(xb, yb):
        labels = hook(xb, yb)
        seen.append((xb.clone(), yb.clone(), labels))
        return labels

    train_recipe(RECIPE, (x[:256], y[:256]), max_steps=2, targets=spy)
    assert len(seen) == 2
    for xb, yb, labels in seen:
        assert xb.shape[-1] == 32 and teacher.input_size[-1] == 28  # the student's size, resized for the teacher
        with torch.no_grad():
            want = teacher(F.interpolate(xb, size=(28, 28), mode="bilinear", align_corners=False)).argmax(1)
        assert labels.dtype == torch.int64 and not labels.requires_grad
        assert torch.equal(labels, want)
    assert not teacher.training


def test_a_teacher_returning_the_true_labels_trains_bitwise_like_ordinary_training():
    data = _constant_images(256)
    oracle = teacher_labels(OracleTeacher())
    given = []

    def spy(xb, yb):
        labels = oracle(xb, yb)
        given.append(torch.equal(labels, yb))
        return labels

    plain = train_recipe(RECIPE, data, max_steps=3)
    hooked = train_recipe(RECIPE, data, max_steps=3, targets=spy)
    assert given == [True, True, True]  # the oracle really returned the true labels
    assert state_digest(hooked.state) == state_digest(plain.state)
    assert hooked.steps == plain.steps == 3


def test_targets_are_refused_where_the_loss_needs_the_true_labels():
    mixing = ZOO_RECIPES["fmnist-mini"]["resnet_mixup_cutmix"]
    with pytest.raises(ZoolensError, match="mixes images or trains adversarially"):
        train_recipe(mixing, _constant_images(256), max_steps=1, targets=lambda x, y: y)


def test_targets_of_the_wrong_shape_are_a_one_line_error():
    with pytest.raises(ZoolensError, match="int64 labels"):
        train_recipe(RECIPE, _constant_images(128), max_steps=1, targets=lambda x, y: y[:3])
