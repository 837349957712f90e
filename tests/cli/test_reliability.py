"""The README's promises under attack: bad input, broken files and interrupts, through the real ``zoolens.cli.main``.

Every case here is a row of the red-team table in docs/reliability.md. Bad input must
give exactly one line on stderr starting with ``error:``, exit code 2, no traceback
and nothing written to ``--out``.
"""

from __future__ import annotations

import json
import os
import pickle
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from zoolens.cli import main
from zoolens.errors import ZoolensError

TINY = "py:tests.faulty:sleepy_a"
TINY2 = "py:tests.faulty:sleepy_b"
CRIT = ["criticality", "-m", TINY, "--data", "digits", "-n", "16", "--seeds", "1", "--randomize", "zero"]
SAT = ["similarity", "-m", TINY, "-m", TINY2, "--data", "digits", "-n", "16", "--steps", "1", "-q"]


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory) -> dict[str, Path]:
    """Checkpoints and study files a user might hand zoolens by mistake."""
    d = tmp_path_factory.mktemp("bad")
    import timm
    from safetensors.torch import save_file

    net = timm.create_model("resnet18", num_classes=10)
    files = {"garbage": d / "garbage.pth", "script": d / "train.py", "objects": d / "objects.pth",
             "protocol4": d / "p4.pth", "int32": d / "int32.safetensors", "folder": d / "weights_dir",
             "file": d / "a_file", "binary_toml": d / "study.toml", "cut_toml": d / "cut.toml"}
    files["garbage"].write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    files["script"].write_text("import torch\nprint('training...')\n")
    torch.save({"state_dict": net.state_dict(), "args": _Args()}, files["objects"])
    with open(files["protocol4"], "wb") as fh:
        pickle.dump({k: v.numpy() for k, v in list(net.state_dict().items())[:2]}, fh, protocol=4)
    save_file({k: (v.to(torch.int32) if k == "conv1.weight" else v).contiguous()
               for k, v in net.state_dict().items()}, str(files["int32"]))
    files["folder"].mkdir()
    files["file"].write_text("not a directory")
    files["binary_toml"].write_bytes(b"\xff\xfe\x00garbage")
    files["cut_toml"].write_text("[study]\nname = \"unterminated\n")
    return files


def raw_study(tmp_path: Path, text: str) -> str:
    path = tmp_path / "raw.toml"
    path.write_text(text)
    return str(path)


class _Args:
    """Stands for an argparse namespace pickled into a checkpoint (needs full unpickling)."""


def study(tmp_path: Path, **sections: dict) -> str:
    """A study file: tiny digits models, criticality; ``sections`` override keys (None removes one)."""
    base = {"study": {"name": "t", "out": str(tmp_path / "out")}, "models": {"refs": [TINY]},
            "data": {"source": "digits", "n_images": 16}, "criticality": {"seeds": 1, "randomize": "zero"}}
    for name, keys in sections.items():
        base.setdefault(name, {}).update(keys)
    lines = []
    for name, keys in base.items():
        lines.append(f"[{name}]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in keys.items()]
    path = tmp_path / "study.toml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


# (id, argv builder(tmp_path, files) -> argv, expected fragment of the message)
BAD_INPUT = [
    # 1. usage errors: typer's bundled click exceptions
    ("usage-int-abc", lambda t, f: ["criticality", "--n-images", "abc"], "--n-images"),
    ("usage-unknown-option", lambda t, f: ["criticality", "--bogus"], "No such option: --bogus"),
    ("usage-unknown-command", lambda t, f: ["nosuch"], "No such command"),
    ("usage-bad-choice", lambda t, f: ["zoo", "list", "fmnist-mini", "--format", "xml"], "xml"),
    ("usage-float-for-int", lambda t, f: ["criticality", "--batch-size", "1.5"], "--batch-size"),
    ("usage-missing-value", lambda t, f: ["similarity", "--one-sided"], "--one-sided"),
    ("usage-missing-argument", lambda t, f: ["models", "info"], "Missing argument"),
    # 4/7/8. criticality settings, all refused before --out exists
    ("crit-n-zero", lambda t, f: CRIT + ["-n", "0", "--out", str(t / "out")], "--n-images"),
    ("crit-n-negative", lambda t, f: CRIT + ["-n", "-5", "--out", str(t / "out")], "--n-images"),
    ("crit-n-too-many", lambda t, f: CRIT + ["-n", "5000", "--out", str(t / "out")], "holds only 1797"),
    ("crit-seeds-repeated", lambda t, f: CRIT + ["--seeds", "1,1", "--out", str(t / "out")], "repeats seed"),
    ("crit-seeds-text", lambda t, f: CRIT + ["--seeds", "abc", "--out", str(t / "out")], "cannot read --seeds"),
    ("crit-seeds-zero", lambda t, f: CRIT + ["--seeds", "0", "--out", str(t / "out")], "--seeds"),
    ("crit-seeds-negative", lambda t, f: CRIT + ["--seeds", "-1,2", "--out", str(t / "out")], "[0, 2^32)"),
    ("crit-seeds-huge-count", lambda t, f: CRIT + ["--seeds", "99999999999", "--out", str(t / "out")],
     "between 1 and"),
    ("crit-batch-size-zero", lambda t, f: CRIT + ["--batch-size", "0", "--out", str(t / "out")], "--batch-size"),
    ("crit-layers-bad-regex", lambda t, f: CRIT + ["--layers", "conv[", "--out", str(t / "out")], "--layers"),
    ("crit-engine", lambda t, f: CRIT + ["--engine", "turbo", "--out", str(t / "out")], "unknown engine"),
    ("crit-precision", lambda t, f: CRIT + ["--precision", "fp8", "--out", str(t / "out")], "precision"),
    ("crit-randomize", lambda t, f: CRIT + ["--randomize", "shuffle", "--out", str(t / "out")], "randomization"),
    ("crit-randomize-missing-ckpt", lambda t, f: CRIT + ["--randomize", "checkpoint:/nonexistent.pth",
                                                         "--out", str(t / "out")], "is not a file"),
    ("crit-device", lambda t, f: CRIT + ["--device", "tpu", "--out", str(t / "out")], "--device"),
    ("crit-thresholds-crossed", lambda t, f: CRIT + ["--auxiliary-below", "0.9", "--critical-above", "0.1",
                                                     "--out", str(t / "out")], "--auxiliary-below"),
    ("crit-data-seed-negative", lambda t, f: CRIT + ["--data-seed", "-1", "--out", str(t / "out")], "--data-seed"),
    ("crit-unknown-data", lambda t, f: ["criticality", "-m", TINY, "--data", "nosuch", "--out", str(t / "out")],
     "unknown data source"),
    ("crit-zoo-member-typo", lambda t, f: ["criticality", "-m", "zoo:fmnist-mini/nope", "--out", str(t / "out")],
     "has no model 'nope'"),
    ("crit-unknown-zoo", lambda t, f: ["criticality", "--zoo", "nozoo", "--out", str(t / "out")], "unknown zoo"),
    ("crit-only-without-zoo", lambda t, f: ["criticality", "--only", "x", "--out", str(t / "out")], "--only"),
    ("crit-same-model-twice", lambda t, f: CRIT + ["-m", TINY, "--out", str(t / "out")], "twice"),
    ("ref-no-scheme", lambda t, f: ["criticality", "-m", "resnet18", "--out", str(t / "out")], "cannot parse"),
    ("ref-init-seed-text", lambda t, f: ["criticality", "-m", "timm:resnet18@init:abc", "--out", str(t / "out")],
     "non-negative integer"),
    ("ref-checkpoint-is-folder", lambda t, f: ["criticality", "-m", f"timm:resnet18@{f['folder']}",
                                               "--out", str(t / "out")], "is a directory"),
    ("ref-unknown-timm", lambda t, f: ["criticality", "-m", "timm:resnet_nosuch", "--out", str(t / "out")],
     "timm has no model"),
    ("ref-unknown-tv", lambda t, f: ["criticality", "-m", "tv:resnet_nosuch", "--out", str(t / "out")],
     "torchvision has no model"),
    ("ref-py-missing-function", lambda t, f: ["criticality", "-m", "py:tests.faulty:nothing",
                                              "--out", str(t / "out")], "no callable"),
    # 5. --out unusable
    ("out-is-a-file", lambda t, f: CRIT + ["--out", str(f["file"])], "cannot use"),
    ("out-below-a-file", lambda t, f: CRIT + ["--out", str(f["file"] / "run")], "cannot use"),
    # similarity
    ("sat-eps-text", lambda t, f: SAT + ["--eps", "abc", "--out", str(t / "out")], "--eps"),
    ("sat-alpha-div-zero", lambda t, f: SAT + ["--alpha", "1/0", "--out", str(t / "out")], "--alpha"),
    ("sat-steps-zero", lambda t, f: SAT + ["--steps", "0", "--out", str(t / "out")], "steps"),
    ("sat-attack", lambda t, f: SAT + ["--attack", "cw", "--out", str(t / "out")], "unknown attack"),
    ("sat-adv-precision", lambda t, f: SAT + ["--adv-precision", "fp16", "--out", str(t / "out")], "precision"),
    ("sat-preset", lambda t, f: SAT + ["--preset", "nosuch", "--out", str(t / "out")], "unknown preset"),
    ("sat-batch-size-zero", lambda t, f: SAT + ["--batch-size", "0", "--out", str(t / "out")], "--batch-size"),
    ("sat-zoo-member-typo", lambda t, f: ["similarity", "-m", "zoo:fmnist-mini/nope", "-m",
                                          "zoo:fmnist-mini/vgg_baseline", "--out", str(t / "out")], "nope"),
    ("sat-no-out", lambda t, f: SAT, "--out is required"),
    ("sat-add-without-to", lambda t, f: ["similarity", "--add", TINY], "--add and --to"),
    ("sat-to-no-run", lambda t, f: ["similarity", "--add", TINY, "--to", str(t / "none")], "holds no SAT run"),
    ("sat-one-sided", lambda t, f: ["similarity", "--add", TINY, "--to", str(t), "--one-sided", "both"],
     "--one-sided"),
    # 8. checkpoints and factories
    ("ckpt-garbage", lambda t, f: ["models", "info", f"timm:resnet18@{f['garbage']}"], "unreadable"),
    ("ckpt-python-script", lambda t, f: ["models", "info", f"timm:resnet18@{f['script']}"], "unreadable"),
    ("ckpt-pickled-objects", lambda t, f: ["models", "info", f"timm:resnet18@{f['objects']}"],
     "--trust-checkpoint"),
    ("ckpt-protocol-4-pickle", lambda t, f: ["models", "info", f"timm:resnet18@{f['protocol4']}"], "pickled"),
    ("ckpt-int32-tensor", lambda t, f: ["models", "info", f"timm:resnet18@{f['int32']}"], "integer values"),
    ("py-factory-raises", lambda t, f: ["models", "info", "py:tests.faulty:raising"], "raised ValueError"),
    ("models-info-bad-regex", lambda t, f: ["models", "info", TINY, "--layers", "("], "--layers"),
    ("data-n-zero", lambda t, f: ["data", "info", "digits", "-n", "0"], "n must be positive"),
    ("data-seed-negative", lambda t, f: ["data", "info", "digits", "-n", "5", "--seed", "-1"], "seed"),
    # 5. study files and plan
    ("study-missing", lambda t, f: ["run", str(t / "nope.toml")], "does not exist"),
    ("study-binary", lambda t, f: ["run", str(f["binary_toml"])], "UTF-8"),
    ("study-syntax", lambda t, f: ["run", str(f["cut_toml"])], "TOML"),
    ("study-seeds-text", lambda t, f: ["run", study(t, criticality={"seeds": "x"})], "seeds"),
    ("study-out-int", lambda t, f: ["run", study(t, study={"out": 5})], "out must be"),
    ("study-refs-ints", lambda t, f: ["run", study(t, models={"refs": [1, 2]})], "list of strings"),
    ("study-n-images-text", lambda t, f: ["run", study(t, data={"n_images": "sixteen"})], "n_images"),
    ("study-eps-text", lambda t, f: ["run", study(t, similarity={"eps": "abc"})], "eps"),
    ("study-unknown-key", lambda t, f: ["run", study(t, criticality={"seed": 3})], "unknown key"),
    ("study-section-not-table", lambda t, f: ["run", raw_study(t, "models = 5\n[criticality]\n")], "must be a table"),
    ("study-executor", lambda t, f: ["run", study(t), "--executor", "slurm"], "unknown [executor] kind"),
    ("study-missing-weights", lambda t, f: ["run", study(t, models={"refs": ["timm:resnet18@/nope/r18.pth"]})],
     "/nope/r18.pth does not exist"),
    ("plan-throughput-zero", lambda t, f: ["plan", study(t), "--throughput", "0"], "--throughput"),
    ("plan-throughput-negative", lambda t, f: ["plan", study(t), "--throughput", "-5"], "--throughput"),
]


@pytest.mark.parametrize("argv", [c[1] for c in BAD_INPUT], ids=[c[0] for c in BAD_INPUT])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(argv, tmp_path, bad_files, capsys):
    args = argv(tmp_path, bad_files)
    fragment = next(c[2] for c in BAD_INPUT if c[1] is argv)
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and "Traceback" not in err
    assert fragment in lines[0], lines[0]
    assert not (tmp_path / "out").exists(), "a refused command must not create its run directory"


def test_debug_shows_the_traceback_of_a_usage_error(capsys):
    assert main(["--debug", "criticality", "--seeds", "1,1", "-m", TINY, "--data", "digits"]) == 2
    assert "Traceback" in capsys.readouterr().err


def test_ctrl_c_exits_130_with_one_line(monkeypatch, capsys, tmp_path):
    import zoolens.criticality as crit

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(crit, "criticality", interrupted)
    assert main(CRIT + ["--out", str(tmp_path / "out")]) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("interrupted") and "rerun the same command" in err[0]


# ----------------------------------------------------------------------- item 3
def test_nan_in_the_unmodified_model_is_an_error_not_a_number(tmp_path, capsys):
    out = tmp_path / "nan"
    assert main(["criticality", "-m", "py:tests.faulty:nan_outputs", "--data", "digits", "-n", "16", "--seeds", "1",
                 "--randomize", "zero", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    # the live per-unit line, then the one-line summary; no traceback
    assert err[-1].startswith("error: 1 unit(s) failed") and "non-finite outputs" in err[-1]
    assert not any("Traceback" in line for line in err)
    assert not (out / "criticality.csv").exists() and not (out / "models.csv").exists()


def test_layers_without_a_valid_measurement_are_unmeasured_not_certain():
    from zoolens.criticality import summarize

    rows = pd.DataFrame({"model": "m", "layer": ["a"] * 3 + ["b"] * 3 + ["c"], "label": ["a"] * 3 + ["b"] * 3 + ["c"],
                         "layer_index": [0] * 3 + [1] * 3 + [2], "module_type": "Linear", "n_params": 9,
                         "seed": [0, 1, 2] * 2 + [0], "cosine_distance": [np.nan] * 3 + [0.6, np.nan, 0.8] + [0.3]})
    s = summarize(rows).set_index("layer")
    assert s.loc["a", "role"] == "unmeasured" and s.loc["a", "n_seeds"] == 0
    assert np.isnan(s.loc["a", "criticality_sem"]) and np.isnan(s.loc["a", "criticality_mean"])
    assert s.loc["b", "n_seeds"] == 2 and s.loc["b", "criticality_sem"] == pytest.approx(np.std([0.6, 0.8], ddof=1) / np.sqrt(2))
    assert np.isnan(s.loc["c", "criticality_sem"])  # one seed: no spread measured, not 0.0


# ----------------------------------------------------------------------- item 4
def _crit(out: Path, *extra: str) -> list[str]:
    return ["criticality", "-m", TINY, "-m", TINY2, "--data", "digits", "--seeds", "2", "--randomize", "zero",
            "--out", str(out), *extra]


def test_a_fixed_typo_reruns_in_the_same_out(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(_crit(out, "-n", "0")) == 2
    assert main(_crit(out, "-n", "16")) == 0
    assert len(pd.read_csv(out / "criticality.csv")) > 0


def test_a_spec_written_by_a_run_that_computed_nothing_does_not_poison_the_directory(tmp_path):
    from zoolens.runtime import RunDir

    with RunDir(tmp_path / "r", {"n_images": 0}, kind="criticality").open():
        pass  # e.g. an older zoolens wrote the spec and then failed
    with RunDir(tmp_path / "r", {"n_images": 16}, kind="criticality").open():
        pass
    (tmp_path / "r" / "parts" / "x").mkdir(parents=True)
    pd.DataFrame({"a": [1]}).to_parquet(tmp_path / "r" / "parts" / "x" / "u.parquet")
    with pytest.raises(ZoolensError, match="other settings"):  # with results, another spec is still refused
        with RunDir(tmp_path / "r", {"n_images": 32}, kind="criticality").open():
            pass


def test_a_study_typo_fixed_reruns_in_the_same_out(tmp_path, capsys):
    assert main(["run", "-q", study(tmp_path, similarity={"eps": "abc", "steps": 1})]) == 2
    assert main(["run", "-q", study(tmp_path, similarity={"eps": "8/255", "steps": 1})]) == 0
    assert (tmp_path / "out" / "similarity" / "sat_matrix.csv").is_file()


def test_a_sat_member_that_never_loaded_is_forgotten_after_the_fix(tmp_path, monkeypatch, capsys):
    out = tmp_path / "sat"
    marker = tmp_path / "broken"
    marker.write_text("1")
    monkeypatch.setenv("ZOOLENS_TEST_BROKEN_MARKER", str(marker))
    # a reference that passes the cheap checks but fails to load (here: a factory that raises)
    bad = ["similarity", "-m", TINY, "-m", "py:tests.factories:broken", "--data", "digits", "-n", "16",
           "--steps", "1", "-q", "--out", str(out)]
    assert main(bad) == 2
    assert "broken" in capsys.readouterr().err
    good = ["similarity", "-m", TINY, "-m", TINY2, "--data", "digits", "-n", "16", "--steps", "1", "-q",
            "--out", str(out)]
    assert main(good) == 0
    sat = pd.read_csv(out / "sat_matrix.csv", index_col=0)
    assert list(sat.index) == [TINY, TINY2]


# ----------------------------------------------------------------------- item 5
def test_read_only_out_is_one_line(tmp_path, monkeypatch, capsys):
    import errno

    real = Path.mkdir

    def read_only(self, *a, **k):
        if str(self).startswith(str(tmp_path)):
            raise OSError(errno.EROFS, "Read-only file system", str(self))
        return real(self, *a, **k)

    monkeypatch.setattr(Path, "mkdir", read_only)
    assert main(CRIT + ["--out", str(tmp_path / "ro" / "run")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Read-only file system" in err[0] and "--out" in err[0]


# ----------------------------------------------------------------------- item 6
def test_strict_fails_on_unreadable_images_even_when_cached(tmp_path, capsys):
    from PIL import Image

    root = tmp_path / "folder"
    for cls in ("a", "b"):
        (root / cls).mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (8, 8), (40 * i, 0, 0)).save(root / cls / f"{i}.png")
    (root / "a" / "broken.png").write_bytes(b"not a png")
    src = f"imagefolder:{root}"
    with pytest.warns(UserWarning, match="skipped 1 unreadable image"):  # skips it, caches the subset
        assert main(["data", "info", src, "-n", "7", "--format", "json"]) == 0
    capsys.readouterr()
    assert main(["data", "info", src, "-n", "7", "--strict", "--format", "json"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "broken.png" in err[0]


# ----------------------------------------------------------------------- item 8
def test_flipped_bits_in_the_image_cache_are_detected_and_rebuilt(tmp_path):
    from zoolens.data import load_data
    from zoolens.data import cache as dcache

    first = load_data("digits", n=20, seed=3)
    path = first.cache_path / "images.npy"
    clean = first.images.clone()
    raw = bytearray(path.read_bytes())
    raw[-5] ^= 0x10
    path.write_bytes(bytes(raw))
    dcache._VERIFIED.clear()  # a new process would not have verified it yet
    with pytest.warns(UserWarning, match="fails its checksum"):
        again = load_data("digits", n=20, seed=3)
    assert torch.equal(again.images, clean) and again.fingerprint == first.fingerprint


def test_tables_follow_the_umask(tmp_path):
    from zoolens.io import write_table, write_text_atomic

    old = os.umask(0o022)
    try:
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "t.csv")
        write_text_atomic(tmp_path / "m.json", "{}")
        os.umask(0o027)
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "u.parquet")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "t.csv").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "m.json").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "u.parquet").stat().st_mode) == 0o640
    assert not list(tmp_path.glob(".*.tmp"))
