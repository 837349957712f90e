"""One-line errors (exit 2) of the options added for SAT stability and training checkpoints (issue #16)."""

from __future__ import annotations

import pytest

from zoolens.cli import main


@pytest.mark.parametrize("args, message", [
    (["zoo", "train", "fmnist-mini", "--only", "resnet_baseline", "--save-every", "0"], "--save-every"),
    (["models", "info", "zoo:fmnist-mini/resnet_baseline@/no/such/epoch_001.safetensors"], "does not exist"),
    (["models", "info", "zoo:fmnist-mini/resnet_baseline@"], "nothing after '@'"),
    (["analyze", "/no/such/run", "--stability-pair", "a"], "not two different model names"),
])
def test_bad_input_is_one_line_exit_2(capsys, tmp_path, args, message):
    assert main(args + (["--out", str(tmp_path)] if args[:2] == ["zoo", "train"] else [])) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
