"""The command line as a researcher uses it: runs, outputs, resume, config composition, errors."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, cfg_job, cli_error, kill_after_rows, read_jsonl, run_cli

ROW_KEYS = {"epoch", "lr", "train_res", "train_loss", "val_top1", "val_top5", "val_loss", "val_entropy",
            "epoch_time_s"}
TINY = ["dataset=digits", "model=resnet20", "method=dense", "model.width=0.25"]


def test_two_epoch_digits_run_writes_metrics_and_summary(shared_run):
    tmp_path, out = shared_run(*TINY, "epochs=2")  # also tests/test_checkpoint_safety.py's
    rows = read_jsonl(tmp_path / "metrics.jsonl")
    assert [r["epoch"] for r in rows] == [0, 1]
    for r in rows:
        assert ROW_KEYS <= set(r)
        assert 0 <= r["val_top1"] <= r["val_top5"] <= 1
        assert 0 <= r["val_entropy"] <= math.log(10) + 1e-6
        assert r["train_res"] == 8 and r["lr"] > 0 and r["train_loss"] > 0
    assert rows[1]["lr"] < rows[0]["lr"]  # decaying after the peak at epoch 1
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["final"] == rows[-1]
    assert summary["status"] == "finished"
    assert summary["world_size"] == 1 and summary["torch_threads"] >= 1
    assert summary["params_total"] > 0 and summary["elapsed_s"] > 0
    assert len(summary["config_hash"]) == 16
    assert (tmp_path / "checkpoints" / "last.pt").is_file()
    # one console row per epoch, under a header
    lines = [ln for ln in out.stdout.splitlines() if ln.strip()]
    assert lines[0].split()[0] == "epoch" and len(lines) == 3


def test_digits_learns(tmp_path):
    out = run_cli("dataset=digits", "method=dense", "model=resnet20", "epochs=6", f"hydra.run.dir={tmp_path}")
    assert out.returncode == 0, out.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["final"]["val_top1"] > 0.9


def test_rerun_continues_from_checkpoint_and_matches_uninterrupted(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    full, part = tmp_path / "full", tmp_path / "part"
    args = [*TINY, "epochs=8"]
    one = {"OMP_NUM_THREADS": "1"}  # two runs at once on 2 cores; runs compared bit for bit: the same threads
    with ThreadPoolExecutor(1) as pool:  # the uninterrupted run beside the interrupted one
        uninterrupted = pool.submit(run_cli, *args, f"hydra.run.dir={full}", env=one)
        kill_after_rows([*args, f"hydra.run.dir={part}"], part / "metrics.jsonl", 2, env=one)
        assert uninterrupted.result().returncode == 0
    done = read_jsonl(part / "metrics.jsonl")
    assert 2 <= len(done) < 8, "the kill should land mid-run"
    out = run_cli(*args, f"hydra.run.dir={part}", env=one)
    assert out.returncode == 0, out.stderr
    assert "resuming" in out.stderr
    a, b = read_jsonl(full / "metrics.jsonl"), read_jsonl(part / "metrics.jsonl")
    strip = lambda rows: [{k: v for k, v in r.items() if k != "epoch_time_s"} for r in rows]  # noqa: E731
    assert strip(a) == strip(b)
    # rerunning a finished run trains nothing and keeps the results
    again = run_cli(*args, f"hydra.run.dir={full}", env=one)
    assert again.returncode == 0 and "already finished" in again.stderr
    assert strip(read_jsonl(full / "metrics.jsonl")) == strip(a)
    assert json.loads((full / "summary.json").read_text())["final"]["val_top1"] == a[-1]["val_top1"]


def test_default_run_dir_is_a_function_of_the_command(tmp_path):
    args = ["dataset=digits", "method=dense", "model=resnet20", "model.width=0.25", "epochs=1"]
    out = run_cli(*args, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    runs = list((tmp_path / "runs" / "digits" / "dense").iterdir())
    assert [p.name for p in runs] == ["dataset=digits,epochs=1,method=dense,model.width=0.25,model=resnet20"]


# Tests of the composed config compose in this process (conftest.compose_cli: the CLI's own steps);
# the few at the end of the file start the real command for its surface (exit codes, one-line errors).
def test_default_config_is_acdc_at_90_percent_on_fashion_mnist():
    import yaml

    cfg = yaml.safe_load(cfg_job())
    assert cfg["dataset"]["name"] == "fashion_mnist" and cfg["method"]["name"] == "acdc"
    assert cfg["sparsity"] == 0.9 and cfg["distribution"]["name"] == "global" and cfg["epochs"] == 10


def _groups() -> dict[str, list[str]]:
    conf = ROOT / "conf"
    return {g: sorted(p.stem for p in (conf / g).glob("*.yaml"))
            for g in ("model", "dataset", "method", "distribution", "logger")}


@pytest.mark.parametrize("group,option", [(g, o) for g, opts in _groups().items() for o in opts])
def test_every_config_group_option_composes(group, option):
    out = cfg_job(f"{group}={option}")
    assert "name: " in out and "epochs:" in out


def test_help_lists_groups():
    out = run_cli("--help")
    assert out.returncode == 0
    for group in ("model:", "dataset:", "method:", "distribution:", "logger:"):
        assert group in out.stdout
    assert "fashion_mnist" in out.stdout and "resnet20" in out.stdout


def test_epochs_default_scales_with_multiplier():
    assert "\nepochs: 250\n" in cfg_job("dataset=imagenet", "epoch_multiplier=2.5")
    assert "\nepochs: 7\n" in cfg_job("dataset=imagenet", "epoch_multiplier=2.5", "epochs=7")


def test_imagenet_recipe_values():
    import yaml

    cfg = yaml.safe_load(cfg_job("dataset=imagenet"))
    assert cfg["optim"] == {**cfg["optim"], "lr": 0.5, "lr_peak_epoch": 2, "momentum": 0.9,
                            "weight_decay": 1e-4, "label_smoothing": 0.1}
    assert cfg["dataset"]["batch_size"] == 1024 and cfg["epochs"] == 100
    res = {"min_res": 160, "max_res": 192, "start_ramp": 0.8, "end_ramp": 0.8}
    assert cfg["dataset"]["resolution"] == res
    assert cfg["dataset"]["eval_res"] == 224 and cfg["dataset"]["eval_crop_ratio"] == 0.875


BAD_INPUT = [("method=nosuch", "method"), ("sparsity=1.5", "sparsity"), ("sparsity=-0.1", "sparsity"),
             ("epochs=0", "epochs"), ("dataset.batch_size=0", "dataset.batch_size"),
             ("optim.lr=-1", "optim.lr"), ("method=null", "method=null")]


@pytest.mark.parametrize("override,field", BAD_INPUT)
def test_bad_input_fails_with_one_line_naming_the_field(override, field):
    status, err = cli_error("dataset=digits", override)
    assert status != 0
    assert "Traceback" not in err
    assert field in err.strip().splitlines()[0]


def test_experiment_null_is_the_default_no_experiment():
    import yaml

    assert yaml.safe_load(cfg_job("experiment=null")) == yaml.safe_load(cfg_job())
    status, err = cli_error("experiment=fig99")
    assert status == 2
    assert err.startswith("acdc-bench: error: experiment=fig99 is not an experiment")


# ----------------------------------------------------------------------------- the real command
def test_bad_input_through_the_cli_fails_in_one_line_and_writes_nothing(tmp_path):
    """The CLI surface of the checks above, for an unknown group option (refused before Hydra
    composes), a bad field (refused by ``validate``) and a method schedule that does not fit
    (refused by the method's ``check_config``, tests/test_methods_cli.py), started at once."""
    from concurrent.futures import ThreadPoolExecutor

    cases = [([BAD_INPUT[0][0]], "method"), ([BAD_INPUT[1][0]], "sparsity"),
             (["method=acdc", "epochs=30", "method.warmup_epochs=3", "method.phase_epochs=5",
               "method.final_decompression_epochs=10", "method.final_compression_epochs=15"],
              "method.phase_epochs")]
    with ThreadPoolExecutor(len(cases)) as pool:
        outs = list(pool.map(lambda k: run_cli("dataset=digits", *cases[k][0],
                                               f"hydra.run.dir={tmp_path / str(k)}"), range(len(cases))))
    for k, ((_, field), out) in enumerate(zip(cases, outs, strict=True)):
        assert out.returncode == 2, out.stderr
        assert "Traceback" not in out.stderr
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("acdc-bench: error: ") and field in lines[0]
        assert not (tmp_path / str(k) / "metrics.jsonl").exists()
        assert not (tmp_path / str(k) / "summary.json").exists()


def test_multirun_with_basic_launcher(tmp_path):
    out = run_cli("-m", *TINY, "epochs=1", "seed=0,1", f"hydra.sweep.dir={tmp_path}")
    assert out.returncode == 0, out.stderr
    summaries = sorted(tmp_path.glob("*/summary.json"))
    assert len(summaries) == 2
    assert len({json.loads(p.read_text())["config_hash"] for p in summaries}) == 2


def test_python_module_and_console_script_are_the_same_program():
    from concurrent.futures import ThreadPoolExecutor

    exe = str(Path(sys.executable).parent / "acdc-bench")
    with ThreadPoolExecutor(1) as pool:  # both at once: they spend their time importing
        console = pool.submit(subprocess.run, [exe, "--cfg", "job"], capture_output=True, text=True, cwd=ROOT)
        b = run_cli("--cfg", "job")
        a = console.result()
    assert a.returncode == 0 and a.stdout == b.stdout
