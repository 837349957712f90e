"""``--batch-size auto``: the tuned engine picks a batch from its own timings and changes no result."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
import torch

from zoolens.cli import main
from zoolens.criticality.batching import TunedEngine
from zoolens.criticality.config import CriticalityConfig
from zoolens.criticality.engines import ENGINES, EngineResult
from zoolens.criticality.one_model import criticality_one_model
from zoolens.errors import ZoolensError

from tests.factories import assert_same_criticality, timm_small


class _Recorder:
    """A fake engine that records each call's image slice and batch; a fake clock charges per image."""

    def __init__(self, cost: dict[int, float]):
        self.cost, self.calls, self.now = cost, [], 0.0

    def clock(self) -> float:
        return self.now

    def __call__(self, model, layers, images, labels, randomizer, seeds, *, batch_size, tick=None, **kw):
        self.calls.append((images[:, 0].tolist(), batch_size))
        self.now += self.cost.get(batch_size, 1.0) * images.shape[0]
        if tick:
            tick(len(layers))
        return EngineResult({}, int(images.shape[0]), int(images.shape[0]), "fake")


@pytest.mark.parametrize("cost,n,pick", [
    ({4: 4.0, 8: 2.0, 16: 1.0, 32: 1.5}, 200, 16),   # faster until 16, slower at 32
    ({4: 4.0, 8: 3.95, 16: 1.0}, 100, 4),            # 8 is not 3 % faster: stop at once
    ({4: 4.0, 8: 2.0, 16: 1.0}, 20, 8),              # the images run out at 12 of 16: the best full slice
])
def test_the_tuner_keeps_the_fastest_full_slice_and_covers_every_image_once_in_order(cost, n, pick):
    fake = _Recorder(cost)
    tuned = TunedEngine(fake, clock=fake.clock)
    ticks = []
    images = torch.arange(n, dtype=torch.float32)[:, None]
    res = tuned(None, ["l1", "l2"], images, None, None, [0], tick=ticks.append)
    assert tuned.batch == pick
    assert [i for got, _ in fake.calls for i in got] == list(range(n))  # no image twice, none lost
    assert res.clean_correct == n and res.n_images == n
    assert sum(ticks) == pytest.approx(2.0)  # the progress bar still advances by the layers
    assert fake.calls[0] == (list(range(4)), 4)  # the untimed warm-up slice
    # a later call (an adaptive chunk, a clean-only rest) uses the chosen batch at once
    fake.calls.clear()
    tuned(None, [], images[:10], None, None, [0])
    assert fake.calls == [(list(range(10)), pick)]


def test_auto_equals_a_fixed_batch_and_records_the_batch_it_chose():
    model = timm_small("resnet18", 32)
    settings = CriticalityConfig(data="digits", n_images=40, seeds=[0, 1], layers=r"layer[12]\.0\.conv")
    fixed, fixed_summary = criticality_one_model(model, settings)
    auto, summary = criticality_one_model(model, dataclasses.replace(settings, batch_size="auto"))
    assert_same_criticality(fixed, auto, atol=1e-9)
    assert fixed_summary["batch_size"] == 64 and summary["batch_size"] in (4, 8, 16, 32)
    assert summary["clean_accuracy"] == fixed_summary["clean_accuracy"]


def test_auto_with_an_adaptive_budget_equals_the_fixed_batch():
    model = timm_small("resnet18", 32)
    settings = CriticalityConfig(data="digits", n_images=60, seeds=[0, 1], layers=r"layer1\.0\.conv1",
                                 target_se=1e-9, se_chunk=20, engine="naive")
    a, _ = criticality_one_model(model, settings)
    b, _ = criticality_one_model(model, dataclasses.replace(settings, batch_size="auto"))
    assert_same_criticality(a, b, atol=1e-9)
    assert (a["n_images_used"] == b["n_images_used"]).all()


@pytest.mark.parametrize("value", ["auto", "16", 16])
def test_batch_size_takes_a_number_or_auto(value):
    assert CriticalityConfig(batch_size=value).batch_size == (16 if value != "auto" else "auto")


@pytest.mark.parametrize("value", [0, "0", "big", 2.5, True])
def test_a_bad_batch_size_is_one_line_naming_auto(value):
    with pytest.raises(ZoolensError, match=r"batch_size \(--batch-size\) must be a whole number ≥ 1 or 'auto', got .* -- e.g. 64 or auto"):
        CriticalityConfig(batch_size=value)


def test_the_cli_takes_auto_and_refuses_a_typo_before_writing(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["criticality", "-m", "py:tests.factories:tiny_a", "--data", "digits", "-n", "12", "--seeds", "1",
            "--out", str(out)]
    assert main([*args, "--batch-size", "atuo"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--batch-size" in err[0] and "auto" in err[0] and not out.exists()
    assert main([*args, "--batch-size", "auto"]) == 0
    assert pd.read_csv(out / "models.csv")["batch_size"].iloc[0] in (4, 8)


def test_quick_slices_are_timed_together_for_at_least_min_seconds():
    fake = _Recorder({4: 0.02, 8: 0.01, 16: 0.02})  # 0.08 s per slice at 4 and 8: four slices make 0.25 s
    tuned = TunedEngine(fake, clock=fake.clock, min_seconds=0.25)
    tuned(None, ["l1"], torch.arange(400, dtype=torch.float32)[:, None], None, None, [0])
    batches = [b for _, b in fake.calls]
    assert tuned.batch == 8
    assert batches == [4] + [4] * 4 + [8] * 4 + [16] + [8]  # warm-up, 4 × 4, 4 × 8, one 16 (0.32 s), the rest
    assert sum(len(got) for got, _ in fake.calls) == 400
