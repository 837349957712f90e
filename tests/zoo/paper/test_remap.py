"""Every published ResNet-50 layout of zoo:paper-r50, rebuilt synthetically and loaded back strictly.

Each test takes a randomly initialized timm resnet50 state dict, writes it in the
*published* layout (as documented in zoolens.zoo.paper.remap), loads the entry with
``load_zoo_model`` from a temporary ``$ZOOLENS_WEIGHTS`` and checks every tensor
came back unchanged.
"""

from __future__ import annotations

import pytest
import torch

from zoolens.errors import ZoolensError
from zoolens.zoo import load_zoo_model
from zoolens.zoo.paper.r50 import r50_entries, r50_entry
from zoolens.zoo.paper.remap import REMAPS, remap_swav, resnet50_module_order

@pytest.fixture(scope="session")
def ref_state() -> dict[str, torch.Tensor]:
    import timm

    torch.manual_seed(0)
    net = timm.create_model("resnet50", pretrained=False)
    state = {k: v.clone() for k, v in net.state_dict().items()}
    # Distinct BN statistics so a swapped BN would be caught.
    for k, v in state.items():
        if k.endswith(("running_mean", "running_var")):
            state[k] = torch.rand_like(v) + 0.5
        if k.endswith("num_batches_tracked"):
            state[k] = torch.tensor(7)
    return state


@pytest.fixture
def weights(tmp_path, monkeypatch):
    root = tmp_path / "weights"
    (root / "paper-r50").mkdir(parents=True)
    monkeypatch.setenv("ZOOLENS_WEIGHTS", str(root))
    return root / "paper-r50"


def _files(name: str) -> list[str]:
    return [f["filename"] for f in r50_entry(name)["files"]]


def _assert_same(model, ref: dict[str, torch.Tensor], skip_fc: bool = False) -> None:
    got = model.net.state_dict()
    assert set(got) == set(ref)
    for k, v in ref.items():
        if k.endswith("num_batches_tracked") or (skip_fc and k.startswith("fc.")):
            continue
        assert torch.equal(got[k], v), k


def _backbone(ref):
    return {k: v for k, v in ref.items() if not k.startswith("fc.")}


def test_timm_and_torchvision_resnet50_share_keys(ref_state):
    import torchvision

    assert set(torchvision.models.resnet50().state_dict()) == set(ref_state)


def test_madry_robustness_layout(ref_state, weights):
    name = "pgd_at_l2_eps_3"
    sd = {f"module.model.{k}": v for k, v in ref_state.items()}
    sd.update({f"module.attacker.model.{k}": torch.zeros_like(v) for k, v in ref_state.items()})
    sd.update({"module.normalizer.new_mean": torch.zeros(3, 1, 1), "module.normalizer.new_std": torch.ones(3, 1, 1),
               "module.attacker.normalizer.new_mean": torch.zeros(3, 1, 1),
               "module.attacker.normalizer.new_std": torch.ones(3, 1, 1)})
    torch.save({"model": sd, "epoch": 90}, weights / _files(name)[0])
    model = load_zoo_model("paper-r50", name)
    _assert_same(model, ref_state)
    assert model.info["epsilon"] == 3.0 and model.info["norm"] == "l2"
    assert model.name == "zoo:paper-r50/pgd_at_l2_eps_3"


def test_aux_bn_layout(ref_state, weights):
    sd = {f"module.{k}": v for k, v in ref_state.items()}
    for k, v in ref_state.items():  # an auxiliary BN next to every BN
        if ".bn" in k or k.startswith("bn1.") or "downsample.1." in k:
            mod, _, leaf = k.rpartition(".")
            sd[f"module.{mod}.aux_bn.{leaf}"] = torch.full_like(v, 3)
    torch.save({"state_dict": sd}, weights / _files("shape_texture_debiased")[0])
    _assert_same(load_zoo_model("paper-r50", "shape_texture_debiased"), ref_state)


def test_identity_layout_with_module_prefix(ref_state, weights):
    torch.save({"state_dict": {f"module.{k}": v for k, v in ref_state.items()}, "epoch": 60},
               weights / _files("sin")[0])
    _assert_same(load_zoo_model("paper-r50", "sin"), ref_state)


def test_dino_backbone_plus_linear_head(ref_state, weights):
    backbone, head = _files("dino_v1")
    torch.save(_backbone(ref_state), weights / backbone)
    torch.save({"state_dict": {"module.linear.weight": ref_state["fc.weight"],
                               "module.linear.bias": ref_state["fc.bias"]}, "epoch": 100}, weights / head)
    _assert_same(load_zoo_model("paper-r50", "dino_v1"), ref_state)


def test_dino_without_head_file_names_it(ref_state, weights):
    backbone, head = _files("dino_v1")
    torch.save(_backbone(ref_state), weights / backbone)
    with pytest.raises(ZoolensError, match=head):
        load_zoo_model("paper-r50", "dino_v1")


def test_mocov3_linear_checkpoint(ref_state, weights):
    torch.save({"epoch": 90, "arch": "resnet50", "state_dict": {f"module.{k}": v for k, v in ref_state.items()}},
               weights / _files("mocov3_300ep")[0])
    _assert_same(load_zoo_model("paper-r50", "mocov3_300ep"), ref_state)


def test_mocov3_pretraining_layout_with_separate_head(ref_state):
    sd = {f"module.base_encoder.{k}": v for k, v in _backbone(ref_state).items()}
    sd["module.base_encoder.fc.0.weight"] = torch.zeros(4096, 2048)  # projection MLP, dropped
    sd.update({f"module.momentum_encoder.{k}": torch.zeros_like(v) for k, v in _backbone(ref_state).items()})
    sd["module.predictor.0.weight"] = torch.zeros(4096, 256)
    head = {"module.fc.weight": ref_state["fc.weight"], "module.fc.bias": ref_state["fc.bias"]}
    out = REMAPS["mocov3"](sd, head)
    assert set(out) == set(ref_state) and all(torch.equal(out[k], ref_state[k]) for k in out)
    with pytest.raises(ZoolensError, match="head"):
        REMAPS["mocov3"](sd, None)


def test_swav_backbone_plus_linear_head(ref_state, weights):
    backbone, head = _files("swav")
    sd = {f"module.{k}": v for k, v in _backbone(ref_state).items()}
    sd.update({"module.projection_head.0.weight": torch.zeros(2048, 2048), "module.prototypes.weight": torch.zeros(3000, 128)})
    torch.save(sd, weights / backbone)
    torch.save({"state_dict": {"module.linear.weight": ref_state["fc.weight"], "module.linear.bias": ref_state["fc.bias"]}},
               weights / head)
    _assert_same(load_zoo_model("paper-r50", "swav"), ref_state)


def test_swav_head_batchnorm_is_folded_exactly():
    torch.manual_seed(1)
    lin, bn = torch.nn.Linear(2048, 1000), torch.nn.BatchNorm1d(2048)
    bn.running_mean.uniform_(-1, 1), bn.running_var.uniform_(0.5, 2), bn.weight.data.uniform_(0.5, 2), bn.bias.data.uniform_(-1, 1)
    bn.eval()
    head = {f"module.linear.{k}": v for k, v in lin.state_dict().items()}
    head.update({f"module.bn.{k}": v for k, v in bn.state_dict().items()})
    out = remap_swav({"module.conv1.weight": torch.zeros(64, 3, 7, 7)}, head)
    x = torch.randn(5, 2048)
    folded = x @ out["fc.weight"].T + out["fc.bias"]
    torch.testing.assert_close(folded, lin(bn(x)), rtol=1e-4, atol=1e-4)


def test_swav_spatial_head_is_refused():
    head = {"module.linear.weight": torch.zeros(1000, 8192), "module.linear.bias": torch.zeros(1000)}
    with pytest.raises(ZoolensError, match="8192"):
        remap_swav({"module.conv1.weight": torch.zeros(64, 3, 7, 7)}, head)


def _simclr_converted(ref_state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The converter's layout: its own module names, modules in TF creation order, fc last.

    Names are deliberately unrelated to resnet50's (and not alphabetical), so only the
    documented order can map them.
    """
    out: dict[str, torch.Tensor] = {}
    for i, (mod, kind) in enumerate(resnet50_module_order()):
        name = f"net.{(i * 37) % 1000}.z{i}"
        if kind == "conv":
            out[f"{name}.weight"] = ref_state[f"{mod}.weight"]
        else:
            for leaf in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked"):
                out[f"{name}.{leaf}"] = ref_state[f"{mod}.{leaf}"]
    out["fc.weight"], out["fc.bias"] = ref_state["fc.weight"], ref_state["fc.bias"]
    return out


def test_simclrv2_converted_tf_layout(ref_state, weights):
    head = {"linear_layers.0.weight": torch.zeros(2048, 2048)}
    torch.save({"resnet": _simclr_converted(ref_state), "head": head}, weights / _files("simclr_v2")[0])
    model = load_zoo_model("paper-r50", "simclr_v2")
    _assert_same(model, ref_state)
    assert model.preprocess.mean == (0.0, 0.0, 0.0) and model.preprocess.std == (1.0, 1.0, 1.0)


def test_simclrv2_order_matters(ref_state):
    """Swapping a block's shortcut and conv3 (same shape in layer1) must change the result."""
    conv = _simclr_converted(ref_state)
    keys = list(conv)
    # Moving layer1.0's shortcut conv after its conv3 (same shape) must swap them in the result.
    sc = next(k for k in keys if conv[k] is ref_state["layer1.0.downsample.0.weight"])
    reordered = {k: conv[k] for k in keys if k != sc}
    c3 = next(k for k in keys if conv[k] is ref_state["layer1.0.conv3.weight"])
    reordered = {**{k: v for k, v in reordered.items() if keys.index(k) <= keys.index(c3)}, sc: conv[sc],
                 **{k: v for k, v in reordered.items() if keys.index(k) > keys.index(c3)}}
    swapped = REMAPS["simclrv2"](reordered)
    # Order-based: the first conv of the block now lands on the shortcut (and fails the strict load).
    assert torch.equal(swapped["layer1.0.downsample.0.weight"], ref_state["layer1.0.conv1.weight"])
    out = REMAPS["simclrv2"](conv)
    assert torch.equal(out["layer1.0.downsample.0.weight"], ref_state["layer1.0.downsample.0.weight"])
    assert torch.equal(out["layer1.0.conv3.weight"], ref_state["layer1.0.conv3.weight"])
    with pytest.raises(ZoolensError, match="convs"):
        REMAPS["simclrv2"]({k: v for k, v in conv.items() if not k.startswith("fc.")} | {"x.weight": torch.zeros(2, 2, 1, 1)})


def test_wrong_shapes_fail_with_precise_error(ref_state, weights):
    bad = dict(ref_state)
    bad["fc.weight"] = torch.zeros(10, 2048)
    torch.save({"state_dict": {f"module.{k}": v for k, v in bad.items()}}, weights / _files("sin")[0])
    with pytest.raises(ZoolensError, match="fc.weight"):
        load_zoo_model("paper-r50", "sin")


def test_missing_file_names_path_and_url(weights):
    with pytest.raises(ZoolensError) as err:
        load_zoo_model("paper-r50", "mocov3_1000ep")
    msg = str(err.value)
    assert str(weights / "linear-1000ep.pth.tar") in msg and "https://" in msg
    with pytest.raises(ZoolensError, match="authors"):
        load_zoo_model("paper-r50", "prime")  # no public URL: points to the docs


def test_pickled_objects_need_trust(ref_state, weights):
    import argparse  # training scripts often pickle their argparse.Namespace next to the weights

    torch.save({"state_dict": {f"module.{k}": v for k, v in ref_state.items()}, "args": argparse.Namespace(lr=0.1)}, weights / _files("sin")[0])
    with pytest.raises(ZoolensError, match="trust-checkpoint"):
        load_zoo_model("paper-r50", "sin")


def test_loaded_model_runs_and_reinitializes(ref_state, weights):
    torch.save(ref_state, weights / _files("sin_in")[0])
    model = load_zoo_model("paper-r50", "sin_in")
    with torch.no_grad():
        out = model(torch.rand(1, 3, 224, 224))
    assert out.shape == (1, 1000) and torch.isfinite(out).all()
    fresh = model.reinitializer.fresh_parameters(model.net, "layer1.0.conv1", seed=3)
    w = fresh["weight"] if "weight" in fresh else next(iter(fresh.values()))
    assert w.shape == ref_state["layer1.0.conv1.weight"].shape
    assert not torch.equal(w, ref_state["layer1.0.conv1.weight"])


def test_every_remap_is_used_by_the_manifest():
    """Each registered remap has a layout test above; the manifest uses exactly those."""
    assert {e["remap"] for e in r50_entries() if e["remap"]} == set(REMAPS)
