"""ImageNet-C corruptions (paper 001 App. G): deterministic, shape- and dtype-preserving, really
corrupting, isolated from numpy's global RNG; mCE against AlexNet; analysis=corruptions on a run."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import ROOT, run_cli

pytest.importorskip("imagecorruptions")

from acdc_bench.analysis import imagenet_c as IC  # noqa: E402

ENV = {"OMP_NUM_THREADS": "1"}


def _image(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    base = (np.sin(xx / 3.0 + seed) * np.cos(yy / 4.0) * 90 + 128).astype(np.uint8)  # texture, not noise
    if len(shape) == 2:
        return base
    tint = np.asarray([1.0, 0.8, 0.5][: shape[2]])  # coloured, so that saturation is not zero
    return (base[..., None] * tint).astype(np.uint8)


def test_nineteen_names_verbatim():
    assert len(IC.COMMON) == 15 and len(IC.CORRUPTIONS) == 19
    assert IC.EXTRA == ("speckle_noise", "gaussian_blur", "spatter", "saturate")
    from imagecorruptions import get_corruption_names

    assert list(IC.CORRUPTIONS) == get_corruption_names("all")
    assert set(IC.ALEXNET_ERRORS) == set(IC.COMMON)


@pytest.mark.parametrize("shape", [(28, 28, 1), (40, 36, 3), (28, 28)])
def test_every_corruption_is_deterministic_keeps_shape_and_dtype_and_changes_the_image(shape):
    img = _image(shape)
    state = np.random.get_state()
    for name in IC.CORRUPTIONS:
        a = IC.corrupt_image(img, name, 1, index=7, seed=3)
        b = IC.corrupt_image(img, name, 1, index=7, seed=3)
        assert a.shape == img.shape and a.dtype == np.uint8, name
        assert np.array_equal(a, b), name
        grey = len(shape) == 2 or shape[2] == 1
        if grey and name == "saturate":  # scales a grey image's zero saturation: no change at 1-3
            assert np.array_equal(a, img)
            assert not np.array_equal(IC.corrupt_image(img, name, 5, index=7), img)
        else:
            assert not np.array_equal(a, img), name
    after = np.random.get_state()  # the global RNG is left as it was
    assert after[0] == state[0] and np.array_equal(after[1], state[1]) and after[2:] == state[2:]


def test_seed_depends_on_index_corruption_and_severity():
    img = _image((32, 32, 3))
    a = IC.corrupt_image(img, "gaussian_noise", 1, index=0)
    assert not np.array_equal(a, IC.corrupt_image(img, "gaussian_noise", 1, index=1))
    assert not np.array_equal(a, IC.corrupt_image(img, "gaussian_noise", 2, index=0))
    strong = IC.corrupt_image(img, "gaussian_noise", 5, index=0)
    diff = lambda x: np.abs(x.astype(int) - img.astype(int)).mean()  # noqa: E731
    assert diff(strong) > diff(a)  # severity 5 is stronger than 1


def test_mce_against_alexnet():
    alexnet_top1 = {
        n: {s: 1 - e for s, e in zip(IC.SEVERITIES, errs, strict=True)}
        for n, errs in IC.ALEXNET_ERRORS.items()
    }
    assert IC.mean_ce(alexnet_top1) == pytest.approx(1.0)  # AlexNet's own mCE is 100%
    half = {
        n: {s: 1 - e / 2 for s, e in zip(IC.SEVERITIES, errs, strict=True)}
        for n, errs in IC.ALEXNET_ERRORS.items()
    }
    assert IC.mean_ce(half) == pytest.approx(0.5)
    del half["fog"][5]
    assert IC.mean_ce(half) is None and IC.corruption_errors(half) is None  # incomplete: no mCE
    # the per-corruption means are the paper's AlexNet errors (e.g. Gaussian noise 88.6%)
    assert sum(IC.ALEXNET_ERRORS["gaussian_noise"]) / 5 == pytest.approx(0.886, abs=5e-4)


def test_analyze_corruptions_on_a_run(tmp_path):
    run = tmp_path / "run"
    out = run_cli(
        "dataset=digits",
        "model=resnet20",
        "model.width=0.25",
        "method=dense",
        "epochs=1",
        "trainer.progress=false",
        f"hydra.run.dir={run}",
        env=ENV,
    )
    assert out.returncode == 0, out.stderr
    out = run_cli(
        "task=analyze",
        "analysis=corruptions",
        f"run_dir={run}",
        "analysis.val_subset=12",
        "analysis.batch_size=12",
        env=ENV,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads((run / "analysis" / "corruptions.json").read_text())
    final = result["entries"]["final"]
    assert set(final["top1"]) == set(IC.CORRUPTIONS) and all(list(v) == ["1"] for v in final["top1"].values())
    assert final["images"] == 12 and 0 <= final["clean_top1"] <= 1 and final["mce"] is None
    assert final["metrics"]["corruption_top1/fog/s1"] == final["top1"]["fog"]["1"]
    # the clean top-1 is the run's own evaluation (the same images, resolution and normalisation)
    args = ["task=analyze", "analysis=corruptions", f"run_dir={run}", "analysis.corruptions=[contrast]"]
    out = run_cli(*args, env=ENV)
    assert out.returncode == 0, out.stderr
    final = json.loads((run / "analysis" / "corruptions.json").read_text())["entries"]["final"]
    summary = json.loads((run / "summary.json").read_text())
    assert final["clean_top1"] == pytest.approx(summary["final"]["val_top1"], abs=1e-6)


def test_bad_severities_and_names_are_one_line_errors():
    from omegaconf import OmegaConf

    from acdc_bench.analysis.corruptions import CorruptionSettings
    from acdc_bench.errors import ConfigError

    base = OmegaConf.load(ROOT / "conf" / "analysis" / "corruptions.yaml")
    for key, value in (("severities", [6]), ("corruptions", ["fog", "rain"]), ("source", "folder")):
        cfg = OmegaConf.create({"analysis": {**OmegaConf.to_container(base), key: value}})
        with pytest.raises(ConfigError, match=f"analysis.{'root' if key == 'source' else key}="):
            CorruptionSettings.read(cfg)
    cfg = OmegaConf.create({"analysis": {**OmegaConf.to_container(base), "corruptions": "common"}})
    assert CorruptionSettings.read(cfg).corruptions == IC.COMMON
