"""``zoo:paper-sat69``: the 69 timm ImageNet classifiers of the SAT paper.

Source: "Similarity of Neural Architectures using Adversarial Attack
Transferability" (seeds/004), App. C: Tab. C.1 (timm 0.6.7 names), Tab. C.2–C.4
(13 architectural components) and Tab. 1 (SAT clusters). ``sat69_models.csv`` is
that table as transcribed in ``data/sat69_models.csv``; :func:`sat69_manifest`
returns it with the same component columns (so SAT clustering and component
importance run on it unchanged) plus the timm reference that resolves each name
in the installed timm.

The paper used timm 0.6.7. Since timm 0.9 models carry pretrained *tags*
(``name.tag``) and some names moved. :data:`RENAMES` maps the names that no longer
resolve to weights; :data:`PRETRAINED_TAGS` pins, for every model, the tag holding
the weights that were timm 0.6.7's default for that name (where the current default
differs — newer or extra-data weights — the 0.6.7 one is pinned and said why).
"""

from __future__ import annotations

import functools
from pathlib import Path

import pandas as pd

from zoolens.errors import ZoolensError
from zoolens.models.loader import load_model
from zoolens.models.refs import parse_ref
from zoolens.models.source import Architecture, get_source
from zoolens.zoo.metadata import blank_row, metadata_listing
from zoolens.zoo.paper.fetch import WeightEntries
from zoolens.zoo.registry import Zoo, register_zoo

ZOO = "paper-sat69"
CSV_PATH = Path(__file__).with_name("sat69_models.csv")
#: Table 1's top-5 TF-IDF keywords per cluster, as printed (``printed``), with the
#: component each keyword names (``component``), transcribed from seeds/004 Table 1.
TABLE1_KEYWORDS_PATH = Path(__file__).with_name("table1_keywords.csv")
COMPONENT_COLUMNS = ["base_architecture", "hierarchical", "stem_layer", "input_resolution", "normalization",
                     "activation", "pooling_at_stem", "final_pooling", "self_attention_2d", "channel_wise_attention",
                     "cw_attention_location", "depthwise_conv", "group_conv"]

#: timm 0.6.7 name -> (current architecture, tag, status, why). status: ``renamed`` (same
#: weights under a new name) or ``substitute`` (weights gone from timm; closest stand-in).
RENAMES: dict[str, tuple[str, str, str, str]] = {
    "gluon_resnet101_v1c": ("resnet101c", "gluon_in1k", "renamed",
                            "timm 0.9 folded the gluon_* ResNets into resnet*.gluon_in1k (timm's deprecation table)"),
    "jx_nest_tiny": ("nest_tiny_jx", "goog_in1k", "renamed",
                     "timm 0.9 renamed jx_nest_* to nest_*_jx (timm's deprecation table)"),
    "gluon_xception65": ("xception65", "tf_in1k", "substitute",
                         "gluon_xception65 and its Gluon weights were removed from timm (no deprecation entry); "
                         "xception65.tf_in1k is the same aligned Xception-65 design with TF-ported weights, "
                         "so SAT involving it is not the paper's model — exclude it for exact reproduction"),
}

#: Pretrained tag per current architecture name. Frozen (not read from timm at run
#: time) so a timm upgrade that changes a default cannot silently change the zoo.
PRETRAINED_TAGS: dict[str, str] = {
    "botnet26t_256": "c1_in1k", "convmixer_1536_20": "in1k",
    # timm >= 0.9 defaults to in12k_ft_in1k (extra data, excluded by the paper); 0.6.7 default = FB in1k.
    "convnext_tiny": "fb_in1k",
    "cspdarknet53": "ra_in1k", "cspresnet50": "ra_in1k", "cspresnext50": "ra_in1k", "dla102x2": "in1k",
    "dpn107": "mx_in1k", "eca_botnext26ts_256": "c1_in1k", "eca_halonext26ts": "c1_in1k", "eca_nfnet_l0": "ra2_in1k",
    "eca_resnet33ts": "ra2_in1k", "ese_vovnet39b": "ra_in1k", "gcresnet50t": "ra2_in1k", "gcresnext50ts": "ch_in1k",
    "halo2botnet50ts_256": "a1h_in1k", "halonet50ts": "a1h_in1k", "hrnet_w64": "ms_in1k",
    "lambda_resnet50ts": "a1h_in1k", "lamhalobotnet50ts_256": "a1h_in1k", "nf_resnet50": "ra2_in1k",
    "nfnet_l0": "ra2_in1k", "poolformer_m48": "sail_in1k", "resnest50d": "in1k", "resnet101": "a1h_in1k",
    "resnet50": "a1_in1k", "resnet50_gn": "a1h_in1k", "resnetblur50": "bt_in1k", "resnetv2_101": "a1h_in1k",
    "resnetv2_50": "a1h_in1k", "resnetv2_50d_evos": "ah_in1k", "resnext50_32x4d": "a1h_in1k",
    "sebotnet33ts_256": "a1h_in1k", "sehalonet33ts": "ra2_in1k",
    # timm >= 0.9 defaults to the later a1_in1k weights; 0.6.7's seresnet50 was the RA 224 model.
    "seresnet50": "ra2_in1k",
    "seresnext50_32x4d": "racm_in1k", "wide_resnet50_2": "racm_in1k", "convit_base": "fb_in1k",
    "crossvit_base_240": "in1k", "deit_base_patch16_224": "fb_in1k", "deit_small_patch16_224": "fb_in1k",
    "pit_s_224": "in1k", "swin_tiny_patch4_window7_224": "ms_in1k", "tnt_s_patch16_224": "in1k",
    "vit_base_patch32_224": "augreg_in21k_ft_in1k", "vit_small_patch16_224": "augreg_in21k_ft_in1k",
    "gmlp_s16_224": "ra3_in1k", "resmlp_24_224": "fb_in1k", "resmlp_big_24_224": "fb_in1k",
    "swin_s3_tiny_224": "ms_in1k", "efficientnet_b2": "ra_in1k", "fbnetv3_g": "ra2_in1k",
    "haloregnetz_b": "ra3_in1k", "mixnet_xl": "ra_in1k", "nf_regnet_b1": "ra2_in1k",
    # timm >= 0.9 defaults to torchvision's v2-recipe weights; 0.6.7's regnetx_320 was the pycls model.
    "regnetx_320": "pycls_in1k",
    "regnety_032": "ra_in1k", "rexnet_150": "nav_in1k", "coat_lite_small": "in1k", "pit_b_224": "in1k",
    "twins_pcpvt_base": "in1k", "twins_svt_small": "in1k", "visformer_small": "in1k",
    "vit_small_r26_s32_224": "augreg_in21k_ft_in1k", "xcit_medium_24_p16_224": "fb_in1k",
    "xcit_tiny_12_p8_224": "fb_in1k",
}
#: Models whose pinned tag differs from the installed timm's default tag (documented above).
PINNED_OVER_DEFAULT = ("convnext_tiny", "seresnet50", "regnetx_320")


@functools.lru_cache(maxsize=1)
def _table() -> pd.DataFrame:
    df = pd.read_csv(CSV_PATH, dtype=str, keep_default_na=False)
    df["input_resolution"] = df["input_resolution"].astype(int)
    df["cluster"] = df["cluster"].astype(int)
    return df


def table1_keywords() -> pd.DataFrame:
    """Table 1's top-5 keywords: ``cluster, rank, printed, component, note`` (SAT paper Sec. 4.1, Table 1)."""
    return pd.read_csv(TABLE1_KEYWORDS_PATH, dtype={"printed": str, "component": str, "note": str},
                       keep_default_na=False)


def resolve(timm_name: str) -> tuple[str, str, str, str]:
    """(architecture, tag, status, note) for a timm 0.6.7 name. status: ok, renamed, substitute."""
    if timm_name in RENAMES:
        return RENAMES[timm_name]
    if timm_name not in PRETRAINED_TAGS:
        raise ZoolensError(f"zoo:{ZOO} has no model {timm_name!r}", f"see `zoolens zoo list {ZOO}`")
    note = "0.6.7 default weights pinned (current timm default differs)" if timm_name in PINNED_OVER_DEFAULT else ""
    return timm_name, PRETRAINED_TAGS[timm_name], "ok", note


def sat69_manifest() -> pd.DataFrame:
    """The paper's 69 models: ``name`` (= timm 0.6.7 name), the CSV's columns (component
    vectors, cluster, ...) and ``timm_arch``, ``pretrained_tag``, ``ref``, ``status``, ``rename_note``."""
    df = _table().copy()
    resolved = [resolve(n) for n in df["timm_name"]]
    df.insert(0, "name", df["timm_name"])
    df["timm_arch"] = [r[0] for r in resolved]
    df["pretrained_tag"] = [r[1] for r in resolved]
    df["ref"] = [f"timm:{r[0]}.{r[1]}" for r in resolved]
    df["status"] = [r[2] for r in resolved]
    df["rename_note"] = [r[3] for r in resolved]
    return df


def registry_report() -> pd.DataFrame:
    """Check every entry against the installed timm: architecture registered, tag pretrained,
    default resolution equal to the paper's input resolution."""
    import timm

    rows = []
    for r in sat69_manifest().itertuples():
        full = f"{r.timm_arch}.{r.pretrained_tag}"
        cfg = timm.models.get_pretrained_cfg(full) if timm.is_model(r.timm_arch) else None
        rows.append({"name": r.name, "timm_arch": r.timm_arch, "tag": r.pretrained_tag, "status": r.status,
                     "old_name_is_model": timm.is_model(r.name),
                     "old_name_has_weights": bool(timm.list_pretrained(f"{r.name}.*")),
                     "arch_is_model": timm.is_model(r.timm_arch),
                     "tag_is_pretrained": full in set(timm.list_pretrained(f"{r.timm_arch}.*")),
                     "timm_resolution": int(cfg.input_size[-1]) if cfg else None,
                     "paper_resolution": r.input_resolution})
    return pd.DataFrame(rows)


def load_sat69_model(name: str, *, trust_checkpoint: bool = False):
    """Load ``zoo:paper-sat69/NAME`` (timm 0.6.7 name or current architecture name)."""
    df = sat69_manifest()
    hit = df[(df["name"] == name) | (df["timm_arch"] == name)]
    if hit.empty:
        raise ZoolensError(f"zoo:{ZOO} has no model {name!r}", f"see `zoolens zoo list {ZOO}`")
    row = hit.iloc[0]
    model = load_model(row["ref"], trust_checkpoint=trust_checkpoint)
    model.name = f"zoo:{ZOO}/{row['name']}"
    model.info.update({"zoo": ZOO, "paper_name": row["paper_name"], "cluster": int(row["cluster"]),
                       "ref": row["ref"], "status": row["status"],
                       **{c: row[c] for c in COMPONENT_COLUMNS}})
    return model


# ------------------------------------------------------------------------ the registered zoo
def metadata() -> pd.DataFrame:
    """:data:`~zoolens.zoo.metadata.META_COLUMNS` of the 69 models: components and Table 1 cluster."""
    rows = []
    for r in sat69_manifest().to_dict("records"):
        row = blank_row(r["name"])
        # Every one of the 69 is its own architecture: its family is itself.
        row.update(family=r["name"], category="sat69", method=r["paper_name"], paper_cluster=int(r["cluster"]),
                   published_id=r["timm_name"], adv_eps=0.0)
        row.update({c: r[c] for c in COMPONENT_COLUMNS})
        rows.append(row)
    return pd.DataFrame(rows).set_index("name")


def weights() -> WeightEntries:
    """Every member's weights are timm's (in the Hugging Face / torch.hub caches)."""
    df = sat69_manifest()
    return WeightEntries(names=list(df["name"]), library=list(zip(df["name"], df["ref"])))


def architecture(name: str) -> Architecture:
    """The untrained timm network of a member."""
    df = sat69_manifest()
    hit = df[(df["name"] == name) | (df["timm_arch"] == name)]
    if hit.empty:
        raise ZoolensError(f"zoo:{ZOO} has no model {name!r}", f"see `zoolens zoo list {ZOO}`")
    ref = parse_ref(hit.iloc[0]["ref"])
    return get_source(ref.scheme).architecture(ref)


ZOO_ENTRY = register_zoo(Zoo(
    name=ZOO, description="the SAT paper's 69 timm ImageNet classifiers (weights from timm's cache)",
    members=lambda: list(sat69_manifest()["name"]), load=load_sat69_model, metadata=metadata,
    manifest=sat69_manifest, listing=lambda all_columns=False: metadata_listing(ZOO, all_columns), weights=weights,
    architecture=architecture))
