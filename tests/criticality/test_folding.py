"""Conv-BN folding and channels_last in the fast engine: the same criticality as the naive engine.

Resets of a folded convolution and of a folded BatchNorm (``include_norm``) are folded
again on replay; both paths of the replay (seeds batched, one seed swapped in) are checked.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import fx, nn

from zoolens.criticality.config import CriticalityConfig
from zoolens.criticality.engines import ENGINES
from zoolens.models.folding import fold_conv_bn, folded_parameters
from zoolens.criticality.one_model import criticality_one_model

from tests.factories import assert_same_criticality, timm_small


def _conv_bn_net() -> nn.Module:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
                        nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4))
    for m in net.modules():  # non-trivial running statistics and affine values
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)
    return net.eval()


def test_folding_removes_the_batchnorms_and_keeps_outputs_and_the_network():
    net = _conv_bn_net()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    gm = fx.symbolic_trace(net)
    folds = fold_conv_bn(gm)
    assert {f.conv for f in folds.values()} == {"0", "3"} and set(folds) == {"0", "1", "3", "4"}
    assert not any(n.op == "call_module" and n.target in ("1", "4") for n in gm.graph.nodes)
    x = torch.randn(5, 3, 8, 8)
    with torch.no_grad():
        assert torch.allclose(gm(x), net(x), atol=1e-5)
    assert all(torch.equal(v, before[k]) for k, v in net.state_dict().items())  # the network is untouched


@pytest.mark.parametrize("layer", ["0", "1", "3", "4"])
def test_a_reset_folded_again_equals_resetting_the_unfolded_network(layer):
    net = _conv_bn_net()
    gm = fx.symbolic_trace(net)
    folds = fold_conv_bn(gm)
    own = dict(net.get_submodule(layer).named_parameters(recurse=False))
    new = {k: torch.randn_like(v) for k, v in own.items()}
    fold = folds[layer]
    x = torch.randn(5, 3, 8, 8)
    with torch.no_grad():
        for k, v in folded_parameters(fold, layer, new, net).items():
            getattr(gm.get_submodule(fold.conv), k).copy_(v)
        for k, v in new.items():
            own[k].copy_(v)
        assert torch.allclose(gm(x), net(x), atol=1e-5)


@pytest.mark.parametrize("engine,randomize,seeds", [("fast", "init", [0, 1]), ("suffix", "init", [0, 1]),
                                                    ("fast", "zero", [0])])  # seeds batched / one swapped in
def test_fast_and_suffix_equal_naive_with_normalization_layers_reset(engine, randomize, seeds):
    model = timm_small("resnet18", 32)
    # the stem, a block with its downsample path and the last block: convs and their BatchNorms
    settings = CriticalityConfig(data="digits", n_images=6, seeds=seeds, batch_size=6, include_norm=True,
                                 randomize=randomize, layers=r"^(conv1|bn1|layer2\.0\.|layer4\.1\.)")
    naive, _ = criticality_one_model(model, dataclasses.replace(settings, engine="naive"))
    fast, summary = criticality_one_model(model, dataclasses.replace(settings, engine=engine))
    assert summary["engine"] == engine
    assert naive["layer"].str.contains("bn").any() and naive["layer"].str.contains("downsample").any()
    assert_same_criticality(naive, fast)
    assert (fast["cosine_distance"] > 1e-6).sum() >= 3
    assert all(p.is_contiguous() for p in model.net.parameters())  # the model's layout is given back


def test_the_engines_are_registered_under_their_names():
    assert set(ENGINES) == {"naive", "suffix", "fast"}
