"""The one batched-inference and freezing implementation (zoolens.inference) against naive twins."""

from __future__ import annotations

import pytest
import torch

from zoolens.errors import ZoolensError
from zoolens.inference import batched_logits, frozen


def _net():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 5), torch.nn.Dropout(0.5))


def test_batched_logits_equal_one_forward_and_restore_the_mode():
    net = _net().train()
    images = torch.randint(0, 256, (7, 1, 3, 4), dtype=torch.uint8)
    got = batched_logits(net, images, batch_size=3)
    with torch.no_grad():
        want = net.eval()(images.float() / 255.0)
    net.train()
    torch.testing.assert_close(got, want)  # uint8 → [0,1], eval mode (dropout off), batches concatenated
    assert net.training and got.dtype == torch.float32
    assert batched_logits(net, images[:0]).shape == (0, 0)


def test_batched_logits_refuse_nan():
    class NaNNet(torch.nn.Module):
        def forward(self, x):
            return torch.full((x.shape[0], 3), float("nan"))

    with pytest.raises(ZoolensError, match="non-finite logits"):
        batched_logits(NaNNet(), torch.zeros(2, 1, 2, 2))
    assert torch.isnan(batched_logits(NaNNet(), torch.zeros(2, 1, 2, 2), check_finite=False)).all()


def test_frozen_restores_flags_even_on_error():
    net = _net().train()
    net[1].bias.requires_grad_(False)
    with pytest.raises(RuntimeError):
        with frozen(net):
            assert not net.training and not any(p.requires_grad for p in net.parameters())
            raise RuntimeError("inside")
    assert net.training and net[1].weight.requires_grad and not net[1].bias.requires_grad
