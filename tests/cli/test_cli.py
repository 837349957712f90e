"""The CLI: documented commands work, bad input gives one line and exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from zoolens.cli import main


def test_data_info_reports_fashion_mnist(capsys):
    assert main(["data", "info", "fashion-mnist", "--format", "json"]) == 0
    row = json.loads(capsys.readouterr().out)[0]
    assert row["images"] == 10000 and row["classes"] == 10 and row["image_size"] == "28x28"


def test_models_info_for_a_weights_file(capsys, resnet18_10cls_file):
    path, _ = resnet18_10cls_file
    assert main(["models", "info", f"timm:resnet18@{path}", "--format", "csv"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "index,layer,type,params,tensors"
    assert out[1].startswith("0,conv1,Conv2d,9408") and out[-1].startswith("20,fc,Linear,5130")


@pytest.mark.parametrize("args,message", [
    (["data", "info", "imagefolder:/nonexistent/folder"], "image folder /nonexistent/folder does not exist"),
    (["data", "info", "digits", "-n", "5000"], "asked for 5000 images"),
    (["models", "info", "py:no_such_module_xyz:f"], "cannot import 'no_such_module_xyz'"),
    (["models", "info", "timm:resnet18@/nonexistent.safetensors"], "does not exist"),
])
def test_bad_input_is_one_line_exit_2(capsys, args, message):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and len(err.strip().splitlines()) == 1


def test_debug_shows_the_traceback(capsys):
    assert main(["--debug", "data", "info", "imagefolder:/nonexistent/folder"]) == 2
    assert "Traceback" in capsys.readouterr().err


@pytest.mark.slow  # a subprocess starts the installed console script
def test_console_script_exit_code():
    proc = subprocess.run([sys.executable, "-m", "zoolens.cli", "data", "info", "nope"], capture_output=True, text=True)
    assert proc.returncode == 2 and "unknown data source 'nope'" in proc.stderr and "Traceback" not in proc.stderr


# Every command group of the real app, with its sub-commands (a registration lost in a refactor fails here).
COMMANDS = {"criticality": [], "similarity": [], "measures": [], "distill": [], "run": [], "plan": [], "analyze": [], "report": [], "demo": [],
            "doctor": [], "data": ["info"], "models": ["info"], "import": ["criticality", "sat"],
            "zoo": ["list", "zoos", "train", "status", "fetch"]}


def test_the_real_app_registers_every_command(capsys):
    import typer

    from zoolens.cli import app

    root = typer.main.get_command(app)
    assert {name: list(getattr(cmd, "commands", {})) for name, cmd in root.commands.items()} == COMMANDS
    for group, subs in COMMANDS.items():
        for path in [[group]] + [[group, s] for s in subs]:
            assert main([*path, "--help"]) == 0, path
            cmd = root.commands[group].commands[path[1]] if len(path) == 2 else root.commands[group]
            summary = (cmd.help or "").strip().splitlines()[0]
            out = " ".join(capsys.readouterr().out.split())  # rich wraps the help to the terminal
            assert summary and " ".join(summary.split()[:6]) in out, (path, summary)


def test_a_sat_run_in_an_older_table_format_is_refused_in_one_line(tmp_path, capsys):
    import json

    out = tmp_path / "sat"
    args = ["similarity", "-m", "py:tests.factories:digits_linear", "-m", "py:tests.factories:digits_features",
            "--data", "digits", "--n-images", "40", "--steps", "2", "--n-resamples", "10", "--out", str(out)]
    assert main(args) == 0
    spec = json.loads((out / "similarity_spec.json").read_text())
    del spec["table_format"]  # as written before the pair parts held the adversarial predictions
    (out / "similarity_spec.json").write_text(json.dumps(spec))
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "table format 1" in err and "new --out" in err and "Traceback" not in err
