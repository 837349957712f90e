"""Training recipes of the ``fmnist-mini`` zoo: one :class:`Recipe` per shipped model.

The ResNet family mirrors both studies' training-method axes (baseline, second seed,
hyper-parameters, label smoothing, mixup/cutmix, strong augmentation, PGD adversarial
training at three L∞ budgets, an improved recipe); the ViT family has the same axes but
adversarial training (SAT paper Table 2 compares ResNet-50 and ViT-S); every other family
has a baseline and a second seed. Budgets are sized for a CPU: every model trains in
minutes to half an hour on one core (docs/zoo.md, "Training budget").
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

ZOO_NAME = "fmnist-mini"
CATEGORIES = ("baseline", "seed", "hparam", "augmentation", "adversarial_training", "improved_training")


@dataclass(frozen=True)
class Recipe:
    """Everything that determines a zoo model's weights (with the code and the data).

    ``augment``: ``"flip"`` (random horizontal flip), ``"flip_crop"`` (flip + 2-pixel
    random translation), ``"strong"`` (flip + TrivialAugmentWide + RandomErasing,
    torchvision v2), ``"none"``. ``mix``: ``"none"`` or ``"mixup_cutmix"`` (one of the two per batch).
    ``adv_eps > 0`` enables PGD adversarial training (``adv_steps`` steps of size
    ``adv_alpha``, random start). ``ema_decay > 0`` ships the EMA weights.
    """

    name: str
    family: str
    method: str
    category: str
    seed: int = 0
    arch_kwargs: dict[str, Any] = field(default_factory=dict)
    epochs: int = 3
    batch_size: int = 256
    optimizer: str = "sgd"  # "sgd" (Nesterov momentum 0.9) or "adamw"
    lr: float = 0.1
    weight_decay: float = 5e-4
    warmup_steps: int = 100
    schedule: str = "cosine"
    label_smoothing: float = 0.0
    augment: str = "flip_crop"
    mix: str = "none"
    mixup_alpha: float = 0.2
    cutmix_alpha: float = 1.0
    adv_eps: float = 0.0
    adv_alpha: float = 0.0
    adv_steps: int = 0
    ema_decay: float = 0.0
    channels_last: bool = True
    num_threads: int = 1  # fixed: CPU kernels reduce in thread-count-dependent order; 1 also avoids
    # OpenMP oversubscription stalls on a shared 2-core machine
    probe_steps: int = 20  # digest of the raw weights after this many steps, for the reproducibility test

    def config(self) -> dict[str, Any]:
        """The full training config as a JSON-able dict (stored in the manifest)."""
        return asdict(self)

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> "Recipe":
        return cls(**{k: v for k, v in cfg.items() if k in cls.__dataclass_fields__})


# --------------------------------------------------------------------------- family baselines
_RESNET = Recipe("resnet_baseline", "resnet", "baseline", "baseline", seed=0,
                 arch_kwargs={"widths": [16, 32, 64], "depths": [1, 1, 1]},
                 epochs=3, optimizer="sgd", lr=0.1, weight_decay=5e-4, augment="flip")
_VGG = Recipe("vgg_baseline", "vgg", "baseline", "baseline", seed=0,
              arch_kwargs={"cfg": [[16], [32, 32], [64]], "hidden": 128},
              epochs=4, batch_size=128, optimizer="sgd", lr=0.05, weight_decay=5e-4, augment="flip")
# The LayerNorm/AdamW families learn more slowly per epoch than the BatchNorm CNNs, so they
# get more, smaller steps (measured: a 3-epoch, batch-256 ViT reached only 77 % test accuracy).
_VIT = Recipe("vit_baseline", "vit", "baseline", "baseline", seed=0,
              arch_kwargs={"img_size": 32, "patch": 4, "dim": 48, "depth": 3, "heads": 3, "mlp_ratio": 2.0},
              epochs=8, batch_size=64, optimizer="adamw", lr=1.5e-3, weight_decay=0.05, warmup_steps=300,
              augment="flip", channels_last=False)
_MIXER = Recipe("mixer_baseline", "mixer", "baseline", "baseline", seed=0,
                arch_kwargs={"patch": 4, "dim": 48, "depth": 4, "token_hidden": 48, "channel_hidden": 96},
                epochs=8, batch_size=128, optimizer="adamw", lr=2e-3, weight_decay=0.05, warmup_steps=200,
                augment="flip", channels_last=False)
_CONVNEXT = Recipe("convnext_baseline", "convnext", "baseline", "baseline", seed=0,
                   arch_kwargs={"widths": [32, 64], "depths": [2, 2], "kernel_size": 7, "ls_init": 0.1},
                   epochs=9, batch_size=128, optimizer="adamw", lr=6e-3, weight_decay=0.02, warmup_steps=200,
                   augment="none")  # measured: with flips, 9 epochs at lr 4e-3 reached 89.9 %


def _adv(eps: float, name: str) -> Recipe:
    # PGD-2 with α = 2.5ε/2 (Madry-style α = 2.5ε/steps), 1 epoch: keeps the 3× cost bounded on a CPU.
    return replace(_RESNET, name=name, method=f"pgd_at_eps{eps:g}", category="adversarial_training",
                   epochs=1, adv_eps=eps, adv_alpha=round(2.5 * eps / 2, 6), adv_steps=2)


RECIPES: list[Recipe] = [
    _RESNET,
    replace(_RESNET, name="resnet_seed1", method="seed", category="seed", seed=1),
    replace(_RESNET, name="resnet_hparam", method="lr0.02_wd5e-5", category="hparam", lr=0.02, weight_decay=5e-5),
    replace(_RESNET, name="resnet_label_smoothing", method="label_smoothing_0.1", category="augmentation",
            label_smoothing=0.1),
    replace(_RESNET, name="resnet_mixup_cutmix", method="mixup_cutmix", category="augmentation", mix="mixup_cutmix"),
    replace(_RESNET, name="resnet_strong_aug", method="trivialaugment_erasing", category="augmentation",
            augment="strong"),
    _adv(0.02, "resnet_pgd_eps0.02"),
    _adv(0.05, "resnet_pgd_eps0.05"),
    _adv(0.1, "resnet_pgd_eps0.1"),
    replace(_RESNET, name="resnet_improved", method="adamw_cosine_ls_ema", category="improved_training",
            epochs=4, optimizer="adamw", lr=3e-3, weight_decay=0.05, label_smoothing=0.1, ema_decay=0.995),
    _VGG,
    replace(_VGG, name="vgg_seed1", method="seed", category="seed", seed=1),
    _VIT,
    replace(_VIT, name="vit_seed1", method="seed", category="seed", seed=1),
    # Table 2 needs a second family with all three settings. The ViT-S grid of the SAT paper
    # (App. E) scales lr and wd by {0.2, 0.4, 1}; ×0.4 of both is its middle point.
    replace(_VIT, name="vit_hparam", method="lr6e-4_wd0.02", category="hparam", lr=6e-4, weight_decay=0.02),
    replace(_VIT, name="vit_label_smoothing", method="label_smoothing_0.1", category="augmentation",
            label_smoothing=0.1),
    replace(_VIT, name="vit_mixup_cutmix", method="mixup_cutmix", category="augmentation", mix="mixup_cutmix"),
    replace(_VIT, name="vit_strong_aug", method="trivialaugment_erasing", category="augmentation",
            augment="strong"),
    # DeiT-III-like: label smoothing, EMA weights and random translations at the same budget.
    replace(_VIT, name="vit_improved", method="ls_ema_flipcrop", category="improved_training",
            label_smoothing=0.1, ema_decay=0.998, augment="flip_crop"),
    _MIXER,
    replace(_MIXER, name="mixer_seed1", method="seed", category="seed", seed=1),
    _CONVNEXT,
    replace(_CONVNEXT, name="convnext_seed1", method="seed", category="seed", seed=1),
]

ZOO_RECIPES: dict[str, dict[str, Recipe]] = {ZOO_NAME: {r.name: r for r in RECIPES}}

for _r in RECIPES:
    assert _r.category in CATEGORIES, _r.name
assert len(ZOO_RECIPES[ZOO_NAME]) == len(RECIPES), "duplicate recipe names"
