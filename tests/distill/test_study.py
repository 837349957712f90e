"""A study file declares a distill experiment; the plan lists its units with their costs."""

from __future__ import annotations

import pandas as pd

from tests.paths import ROOT
from zoolens.distill.config import TEACHER_PRESET, DistillConfig
from zoolens.runtime.plan import plan_study
from zoolens.runtime.spec import load_study, resolve_study
from zoolens.zoo.metadata import zoo_metadata

FLOPS = {"device": "cpu", "conv": 1e9, "matmul": 1e9}


def test_the_example_lists_the_preset_covering_every_family_and_method():
    spec = resolve_study(load_study(ROOT / "examples" / "distill.toml"))
    assert sorted(spec["models"]) == sorted(TEACHER_PRESET) and len(spec["models"]) >= 12
    assert spec["distill"]["epochs"] == DistillConfig().epochs and spec["distill"]["steps"] == DistillConfig().steps
    meta = zoo_metadata("fmnist-mini")
    names = [m.split("/", 1)[1] for m in spec["models"]]
    assert set(meta.loc[names, "family"]) == set(meta["family"])
    assert set(meta.loc[names, "category"]) == set(meta["category"])


def test_the_plan_lists_every_unit_with_its_cost():
    teachers = ["zoo:fmnist-mini/resnet_baseline", "zoo:fmnist-mini/vit_seed1"]
    spec = resolve_study({"models": {"refs": teachers}, "data": {"n_images": 100}, "distill": {"epochs": 1}})
    plan = plan_study(spec, device_flops=FLOPS, measure=False)
    units = pd.DataFrame([u.as_dict() for u in plan.units]).set_index("unit")
    assert set(units.index) == {"sat:attack:vit_baseline", "sat:attack:resnet_baseline", "sat:attack:vit_seed1",
                                "sat:eval:vit_baseline", "sat:eval:resnet_baseline", "sat:eval:vit_seed1",
                                "distill:resnet_baseline", "distill:vit_seed1"}
    assert (units["flops"] > 0).all() and (units["study"] == "distill").all()
    # the student trains ⌊60000/64⌋ steps of 64 images per epoch: one backward per image
    assert units.loc["distill:vit_seed1", "backward_passes"] == 937 * 64
    assert units.loc["sat:eval:vit_baseline", "forward_passes"] == 2 * 100  # both teachers' adversarials
    twice = plan_study(resolve_study({"models": {"refs": teachers}, "data": {"n_images": 100},
                                      "distill": {"epochs": 2}}), device_flops=FLOPS, measure=False)
    two = {u.unit: u.flops for u in twice.units}
    assert two["distill:vit_seed1"] > 1.9 * units.loc["distill:vit_seed1", "flops"]
    assert two["sat:attack:vit_seed1"] == units.loc["sat:attack:vit_seed1", "flops"]
