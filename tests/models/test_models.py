"""Model references, safe checkpoint loading, the wrapper and the re-initializer."""

from __future__ import annotations

import os
import pickle
import sys
import textwrap

import pytest
import timm
import torch
from safetensors.torch import save_file

from zoolens.errors import ZoolensError
from zoolens.models import discover_layers, load_model, parse_ref
from zoolens.models.reinit import build_seeded


def test_parse_references():
    r = parse_ref("timm:resnet18@init:7")
    assert (r.scheme, r.name, r.weights, r.seed) == ("timm", "resnet18", "init", 7)
    r = parse_ref("timm:resnet18@/tmp/w.safetensors")
    assert (r.weights, r.path) == ("file", "/tmp/w.safetensors")
    r = parse_ref("tv:resnet50:IMAGENET1K_V2")
    assert (r.scheme, r.name, r.tag, r.weights) == ("tv", "resnet50", "IMAGENET1K_V2", "pretrained")
    assert parse_ref("zoo:fmnist-mini/resnet_baseline").name == "fmnist-mini/resnet_baseline"
    with pytest.raises(ZoolensError, match="cannot parse model reference"):
        parse_ref("resnet18")


def test_init_reference_is_seeded_and_matches_timm_construction():
    a = load_model("timm:resnet18@init:3")
    b = load_model("timm:resnet18@init:3")
    c = load_model("timm:resnet18@init:4")
    ref = build_seeded(lambda: timm.create_model("resnet18"), 3)
    for (k, v), (_, w), (_, u), (_, r) in zip(a.net.state_dict().items(), b.net.state_dict().items(),
                                             c.net.state_dict().items(), ref.state_dict().items()):
        assert torch.equal(v, w) and torch.equal(v, r), k
    assert not torch.equal(a.net.conv1.weight, c.net.conv1.weight)
    assert not a.training


def test_wrapper_takes_01_images_and_normalizes_inside():
    m = load_model("timm:resnet18@init:0")
    x = torch.rand(2, 3, 224, 224)
    mean = torch.tensor(m.preprocess.mean).view(1, 3, 1, 1)
    std = torch.tensor(m.preprocess.std).view(1, 3, 1, 1)
    with torch.no_grad():
        assert torch.allclose(m(x), m.net((x - mean) / std), atol=1e-6)
        u8 = (x * 255).round().to(torch.uint8)
        assert torch.allclose(m(u8), m(u8.float() / 255), atol=1e-6)
    assert m.input_size == (3, 224, 224) and m.num_classes == 1000
    assert {k.removeprefix("net.") for k in m.state_dict()} == set(m.net.state_dict())  # mean/std not saved


def test_file_reference_strips_prefix_and_reads_class_count(resnet18_10cls_file):
    path, net = resnet18_10cls_file
    m = load_model(f"timm:resnet18@{path}")
    assert m.num_classes == 10
    for k, v in net.state_dict().items():
        assert torch.equal(m.net.state_dict()[k], v), k


def test_pth_with_plain_tensors_loads_with_weights_only(tmp_path, resnet18_10cls_file):
    _, net = resnet18_10cls_file
    torch.save({"state_dict": net.state_dict(), "epoch": 3}, tmp_path / "w.pth")
    m = load_model(f"timm:resnet18@{tmp_path / 'w.pth'}")
    assert torch.equal(m.net.fc.weight, net.fc.weight)


class _Evil:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


def test_malicious_pickle_is_refused_and_creates_nothing(tmp_path):
    marker = tmp_path / "pwned.txt"
    ckpt = tmp_path / "evil.pth"
    torch.save({"state_dict": {"x": torch.zeros(1)}, "payload": _Evil(str(marker))}, ckpt)
    assert not marker.exists()
    with pytest.raises(ZoolensError, match="--trust-checkpoint"):
        load_model(f"timm:resnet18@{ckpt}")
    assert not marker.exists()


def test_truncated_checkpoints_are_reported(tmp_path, resnet18_10cls_file):
    path, net = resnet18_10cls_file
    bad = tmp_path / "cut.safetensors"
    bad.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(ZoolensError, match="unreadable or truncated"):
        load_model(f"timm:resnet18@{bad}")
    torch.save(net.state_dict(), tmp_path / "full.pth")
    cut = tmp_path / "cut.pth"
    cut.write_bytes((tmp_path / "full.pth").read_bytes()[:20000])
    with pytest.raises(ZoolensError, match="unreadable or truncated"):
        load_model(f"timm:resnet18@{cut}")
    with pytest.raises(ZoolensError, match="does not exist"):
        load_model(f"timm:resnet18@{tmp_path / 'missing.safetensors'}")


def test_checkpoint_for_another_architecture_lists_mismatched_keys(resnet18_10cls_file):
    path, _ = resnet18_10cls_file
    with pytest.raises(ZoolensError, match=r"does not fit timm:resnet34: \d+ missing keys \(layer1\.2\.conv1\.weight"):
        load_model(f"timm:resnet34@{path}")


def test_py_reference(tmp_path, monkeypatch):
    (tmp_path / "my_models.py").write_text(textwrap.dedent("""
        import torch
        def tiny():
            net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 8 * 8, 4))
            net.pretrained_cfg = {"input_size": (3, 8, 8), "crop_pct": 1.0, "mean": (0.5,) * 3, "std": (0.5,) * 3}
            return net
        def broken():
            return 42
    """))
    (tmp_path / "bad_module.py").write_text("import does_not_exist_anywhere\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    m = load_model("py:my_models:tiny")
    assert m.input_size == (3, 8, 8) and m.num_classes == 4
    with pytest.raises(ZoolensError, match="cannot import 'bad_module'"):
        load_model("py:bad_module:tiny")
    with pytest.raises(ZoolensError, match="returned a int"):
        load_model("py:my_models:broken")
    sys.modules.pop("my_models", None)


def test_missing_pretrained_weights_fail_fast_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)  # zoolens itself must switch the hub offline
    with pytest.raises(ZoolensError, match="not in the local cache .*--online") as err:
        load_model("timm:resnet18")
    assert "set_online(True)" in str(err.value) and "\n" not in str(err.value)
    assert "HF_HUB_OFFLINE" not in os.environ  # switched on for the build only, then restored
    with pytest.raises(ZoolensError, match=r"expected .*torch/hub/checkpoints/resnet18-f37072fd\.pth"):
        load_model("tv:resnet18")


@pytest.mark.parametrize("name,module", [  # the ViT cases build vit_tiny several times: slow
    ("resnet18", "layer2.0.conv1"), pytest.param("vit_tiny_patch16_224", "blocks.1.attn.qkv", marks=pytest.mark.slow),
    pytest.param("vit_tiny_patch16_224", "", marks=pytest.mark.slow)])
def test_reinitializer_is_the_architectures_own_seeded_init(name, module):
    m = load_model(f"timm:{name}@init:0")
    before = torch.get_rng_state()
    fresh = m.reinitializer.fresh_parameters(m.net, module, seed=11)
    assert torch.equal(before, torch.get_rng_state())  # caller's RNG untouched
    ref = build_seeded(lambda: timm.create_model(name), 11)
    sub = ref.get_submodule(module) if module else ref
    own = dict(sub.named_parameters(recurse=False))
    assert set(fresh) == set(own)
    for k in own:
        assert torch.equal(fresh[k], own[k].detach())
    again = m.reinitializer.fresh_parameters(m.net, module, seed=11)
    other = m.reinitializer.fresh_parameters(m.net, module, seed=12)
    k = next(iter(own))
    assert torch.equal(again[k], fresh[k]) and not torch.equal(other[k], fresh[k])


def test_reinitializer_moments_follow_each_architectures_init():
    """ViT Linear layers: timm's trunc_normal(std=.02); ResNet convs: kaiming normal (fan_out)."""
    vit = load_model("timm:vit_tiny_patch16_224@init:0")
    w = vit.reinitializer.fresh_parameters(vit.net, "blocks.0.mlp.fc1", seed=5)["weight"]
    assert abs(w.std().item() - 0.02) < 0.002 and abs(w.mean().item()) < 0.001
    rn = load_model("timm:resnet18@init:0")
    w = rn.reinitializer.fresh_parameters(rn.net, "layer3.0.conv2", seed=5)["weight"]
    expected = (2.0 / (w.shape[0] * w.shape[2] * w.shape[3])) ** 0.5
    assert abs(w.std().item() / expected - 1) < 0.02


def test_layer_discovery_excludes_norms_and_follows_execution_order():
    m = load_model("timm:resnet18@init:0")
    layers = discover_layers(m.net, m.input_size)
    names = [l.name for l in layers]
    assert names[0] == "conv1" and names[-1] == "fc" and len(names) == 21
    assert names.index("layer2.0.downsample.0") == names.index("layer2.0.conv2") + 1
    assert all(l.module_type in ("Conv2d", "Linear") for l in layers)
    with_norm = discover_layers(m.net, m.input_size, include_norm=True)
    assert len(with_norm) == 21 + 20 and with_norm[1].name == "bn1"
    assert [l.name for l in discover_layers(m.net, m.input_size, pattern=r"^layer4")][0] == "layer4.0.conv1"


def test_vit_root_parameters_are_a_layer():
    m = load_model("timm:vit_tiny_patch16_224@init:0")
    layers = discover_layers(m.net, m.input_size)
    assert layers[0].name == "" and set(layers[0].param_names) == {"cls_token", "pos_embed"}
    assert layers[1].name == "patch_embed.proj" and layers[-1].name == "head"
    assert not any("norm" in l.name for l in layers)
