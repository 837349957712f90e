"""The fast twin (Conv-BN folded, channels_last) computes the model's function: logits, input
gradients, white-box success and transfer rates agree with the model as loaded."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from zoolens.models import load_model
from zoolens.models.fast import FastTwin, fast_twin
from zoolens.similarity import run_sat

from tests.factories import tiny_model

# the families with BatchNorm get a twin; the others (LayerNorm) are used as they are
FAMILIES = {"resnet_baseline": True, "vgg_baseline": True, "vit_baseline": False, "convnext_baseline": False,
            "mixer_baseline": False}


@pytest.mark.parametrize("name", FAMILIES)
def test_twin_logits_and_input_gradients_equal_the_models(name):
    model = load_model(f"zoo:fmnist-mini/{name}").eval()
    twin = fast_twin(model)
    assert isinstance(twin, FastTwin) is FAMILIES[name]
    x = torch.rand(16, *model.input_size, generator=torch.Generator().manual_seed(0))
    a, b = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    la, lb = model(a), twin(b)
    (ga,), (gb,) = torch.autograd.grad(la.logsumexp(1).sum(), a), torch.autograd.grad(lb.logsumexp(1).sum(), b)
    assert (la - lb).abs().max() <= 1e-4 * la.abs().max()
    assert (ga - gb).abs().max() <= 1e-4 * ga.abs().max()
    if FAMILIES[name]:
        assert all(not p.requires_grad for p in twin.parameters())  # a frozen copy: the model keeps its flags
        assert any(p.requires_grad for p in model.parameters())


def test_the_twin_is_cached_and_rebuilt_after_the_weights_change():
    model = load_model("zoo:fmnist-mini/resnet_baseline").eval()
    twin = fast_twin(model)
    assert fast_twin(model) is twin
    x = torch.rand(4, *model.input_size)
    with torch.no_grad():
        model.net.fc.weight.mul_(2.0)  # an in-place change bumps the parameter's version
        again = fast_twin(model)
        assert again is not twin and torch.allclose(again(x), model(x), atol=1e-4)


def test_a_model_in_training_mode_or_not_wrapped_is_used_as_it_is():
    model = tiny_model()
    model.train()
    assert fast_twin(model) is model
    assert fast_twin(model.net.eval()) is model.net


def test_sat_with_the_twin_equals_sat_with_the_models_within_a_point(tmp_path):
    refs = ["zoo:fmnist-mini/resnet_baseline", "zoo:fmnist-mini/vgg_baseline"]
    kw = dict(data="fashion-mnist", n_images=200, steps=5, eps=16 / 255, alpha=4 / 255, batch_size=100,
              n_resamples=20, progress=False)
    fast = run_sat(refs, out=tmp_path / "fast", fast=True, **kw)
    plain = run_sat(refs, out=tmp_path / "plain", fast=False, **kw)
    for col in ("clean_accuracy", "success_rate"):
        assert np.abs(fast.attack[col].to_numpy() - plain.attack[col].to_numpy()).max() <= 0.01, col
    assert (fast.attack["success_rate"] > 0.5).all()  # the attacks do something
    rate = {k: r.transfer.set_index(["source", "target"])["rate"] for k, r in (("f", fast), ("p", plain))}
    assert (rate["f"] - rate["p"]).abs().max() <= 0.01
