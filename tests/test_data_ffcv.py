"""FFCV loaders on .beton files written in the test: epochs, resolution changes, order,
threads, agreement with the torchvision loader, DDP shares, and one-epoch CLI runs.

FFCV compiles each loader's pipeline with numba on its first epoch (~10-20 s on 2 cores),
so the tests share a few loaders and keep the images tiny."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from conftest import ROOT, read_jsonl, run_cli
from test_data_sources import make_celeba_dir, make_cifar_dir, make_fashion_dir, make_jpeg_folder

from acdc_bench.data.ffcv_loader import FFCVLoader, FFCVOptions, order_of
from acdc_bench.data.image_loader import ImageFileLoader
from acdc_bench.data.image_sources import CelebASource, ImageFolderSource, open_source
from acdc_bench.data.loader import Loader, RankShare

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
# numba's dispatcher finalizers raise a harmless KeyError when FFCV's compiled code is collected
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
# the ImageNet recipe's loader options (conf/dataset/imagenet.yaml), unless a test says otherwise
RECIPE = dict(crop="rrc", resolution=None, mean=tuple(MEAN), std=tuple(STD), in_chans=3, hflip=True,
              pad_crop=0, rrc_scale=(0.08, 1.0), crop_ratio=0.875, num_workers=2, os_cache=True,
              order="random")


def ffcv_loader(path, batch_size: int, *, train: bool, seed: int = 0, rank: int = 0, world_size: int = 1,
                **options) -> FFCVLoader:
    share = RankShare(batch_size, train, seed, rank, world_size)
    return FFCVLoader(str(path), FFCVOptions(share, **{**RECIPE, **options}))


@pytest.fixture(scope="module")
def data(tmp_path_factory, monkeypatch_module):
    from acdc_bench.data.ffcv_writer import write_beton

    base = tmp_path_factory.mktemp("ffcv")
    monkeypatch_module.setenv("XDG_CACHE_HOME", str(base / "cache"))
    images = make_jpeg_folder(base / "images")
    make_cifar_dir(base / "cifar")
    make_celeba_dir(base / "celeba")
    make_fashion_dir(base / "fashion")
    out = {"images": images, "celeba": base / "celeba", "fashion": base / "fashion"}
    jobs = [("imagefolder", images, "train", {}), ("imagefolder", images, "val", {"write_mode": "raw"}),
            ("cifar", base / "cifar", "train", {}), ("cifar", base / "cifar", "val", {}),
            ("celeba", base / "celeba", "train", {}), ("celeba", base / "celeba", "val", {}),
            ("fashion_mnist", base / "fashion", "val", {})]
    for fmt, src, split, kw in jobs:
        path = base / f"{fmt}_{split}.beton"
        write_beton(fmt, src, split, path, workers=1, **kw)
        out[f"{fmt}_{split}"] = path
    return out


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def test_train_epochs_follow_order_resolution_and_keep_threads(data, full_threads):
    src = ImageFolderSource(data["images"] / "train")
    threads = torch.get_num_threads()
    assert threads == full_threads
    # one FFCV worker: FFCV would set torch to 1 thread at construction and at every epoch
    loader = ffcv_loader(str(data["imagefolder_train"]), 5, train=True, num_workers=1, seed=7, resolution=48)
    assert torch.get_num_threads() == threads and len(loader) == 4  # 24 images, last partial batch dropped
    epochs = {}
    for epoch, res in ((0, 48), (1, 32)):  # the schedule moves to 32 px: the next epoch's batches are 32 px
        loader.set_epoch(epoch, res)
        xs, ys = [], []
        for x, y in loader:
            assert torch.get_num_threads() == threads
            xs.append(x)
            ys.append(y)
        assert [tuple(x.shape) for x in xs] == [(5, 3, res, res)] * 4
        assert all(x.dtype == torch.float32 and y.dtype == torch.int64 for x, y in zip(xs, ys, strict=True))
        pixels = torch.cat(xs) * torch.tensor(STD).view(1, 3, 1, 1) + torch.tensor(MEAN).view(1, 3, 1, 1)
        assert pixels.min() > -0.01 and pixels.max() < 1.01 and pixels.std() > 0.05  # normalised images
        order = order_of(loader, epoch)
        assert torch.equal(torch.cat(ys), torch.as_tensor(src.labels[order]))  # labels survive, in order
        epochs[epoch] = (order, ys)
    assert not np.array_equal(epochs[0][0], epochs[1][0])
    assert isinstance(loader, Loader) and loader.num_samples == 24  # the loader protocol
    # the order is a function of (seed, epoch): a new loader (a resumed run) visits the same samples
    again = ffcv_loader(str(data["imagefolder_train"]), 5, train=True, num_workers=1, seed=7)
    assert np.array_equal(order_of(again, 1), epochs[1][0])
    loader.set_epoch(1, 32)
    loader.skip(3)  # mid-epoch resume: the remaining batch of epoch 1
    rest = list(loader)
    assert len(rest) == 1 and torch.equal(rest[0][1], epochs[1][1][3])


def test_eval_matches_torchvision_labels_order_and_crop(data):
    src = ImageFolderSource(data["images"] / "val")
    ffcv_val = ffcv_loader(str(data["imagefolder_val"]), 5, train=False, crop="centre", crop_ratio=0.875,
                           num_workers=2, os_cache=False, resolution=32)
    tv_val = ImageFileLoader(src, 5, train=False, mean=MEAN, std=STD, num_workers=0, resolution=32,
                             crop_ratio=0.875)
    a, b = list(ffcv_val), list(tv_val)
    assert len(ffcv_val) == len(tv_val) == 3 and [len(y) for _, y in a] == [5, 5, 2]
    ya, yb = torch.cat([y for _, y in a]), torch.cat([y for _, y in b])
    assert torch.equal(ya, yb) and torch.equal(ya, torch.as_tensor(src.labels))
    xa, xb = torch.cat([x for x, _ in a]), torch.cat([x for x, _ in b])
    std = torch.tensor(STD).view(1, 3, 1, 1)
    # the same centre crops up to resampling: mean |difference| of a few grey levels
    assert float(((xa - xb) * std).abs().mean()) < 0.02
    # DDP evaluation: rank 1 of 2 takes every other sample, with no padding
    rank1 = ffcv_loader(str(data["imagefolder_val"]), 5, train=False, crop="centre", rank=1, world_size=2,
                        resolution=32)
    assert order_of(rank1, 0).tolist() == list(range(1, 12, 2)) and len(rank1) == 2


def test_celeba_attributes_survive_and_match_torchvision(data):
    src = CelebASource(data["celeba"], "val")
    ffcv_val = ffcv_loader(data["celeba_val"], 3, train=False, crop="centre", num_workers=2, resolution=24)
    tv_val = ImageFileLoader(src, 3, train=False, mean=MEAN, std=STD, num_workers=0, resolution=24)
    ya = torch.cat([y for _, y in ffcv_val])
    yb = torch.cat([y for _, y in tv_val])
    assert ffcv_val.multilabel and ya.dtype == torch.float32 and ya.shape == (8, 40)
    assert torch.equal(ya, yb) and torch.equal(ya, torch.as_tensor(src.labels, dtype=torch.float32))


def test_fashion_mnist_grey_images_come_back_as_one_exact_channel(data):
    src = open_source("fashion_mnist", data["fashion"], "val")
    mean, std = [0.2860], [0.3530]
    val = ffcv_loader(str(data["fashion_mnist_val"]), 5, train=False, crop="native", mean=tuple(mean),
                      std=tuple(std), in_chans=1, num_workers=1, resolution=28)
    xs, ys = zip(*val, strict=True)
    x, y = torch.cat(xs), torch.cat(ys)
    assert x.shape == (12, 1, 28, 28) and torch.equal(y, torch.as_tensor(src.labels))
    grey = torch.as_tensor(src.images[..., 0], dtype=torch.float32).unsqueeze(1) / 255  # stored raw: exact
    assert torch.allclose(x * std[0] + mean[0], grey, atol=1e-5)


DDP_RANK = textwrap.dedent("""
    import json, sys, torch.distributed as dist
    from acdc_bench.data.ffcv_loader import FFCVLoader, FFCVOptions, order_of
    from acdc_bench.data.loader import Loader, RankShare
    rank, port, path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    options = FFCVOptions(RankShare(4, True, 3, rank, 2), crop="rrc", resolution=None, mean=(0.5,) * 3,
                          std=(0.5,) * 3, in_chans=3, hflip=True, pad_crop=0, rrc_scale=(0.08, 1.0),
                          crop_ratio=0.875, num_workers=2, os_cache=True, order="random")
    loader = FFCVLoader(path, options)
    print(json.dumps({"len": len(loader), "orders": [order_of(loader, e).tolist() for e in (0, 1)]}))
    dist.destroy_process_group()
""")


def test_ddp_ranks_share_each_epoch_like_torch_distributed_sampler(data):
    from torch.utils.data import DistributedSampler

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = [str(port), str(data["imagefolder_train"])]
    procs = [subprocess.Popen([sys.executable, "-c", DDP_RANK, str(r), *args], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, cwd=ROOT) for r in (0, 1)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [e for _, e in outs]
    got = [json.loads(o.strip().splitlines()[-1]) for o, _ in outs]
    assert [g["len"] for g in got] == [3, 3]  # 24 images: 12 per rank, batches of 4
    for epoch in (0, 1):
        for rank in (0, 1):
            sampler = DistributedSampler(range(24), num_replicas=2, rank=rank, shuffle=True, seed=3)
            sampler.set_epoch(epoch)
            assert got[rank]["orders"][epoch] == list(sampler)
        assert sorted(got[0]["orders"][epoch] + got[1]["orders"][epoch]) == list(range(24))
    assert got[0]["orders"][0] != got[0]["orders"][1]


SMALL = ["method=dense", "dataset.num_workers=1", "dataset.batch_size=8", "dataset.eval_batch_size=8"]


def _res(r: int) -> list[str]:
    return [f"dataset.resolution.min_res={r}", f"dataset.resolution.max_res={r}", f"dataset.eval_res={r}"]


def test_image_folder_trains_an_epoch_with_ffcv_at_full_threads(data, tmp_path, machine_threads):
    # the recipe's 12 workers: FFCV gets the machine's cores, torch keeps its own threads
    out = run_cli("dataset=imagenet", "dataset.loader=ffcv",
                  f"dataset.ffcv_train={data['imagefolder_train']}",
                  f"dataset.ffcv_val={data['imagefolder_val']}", "dataset.num_classes=2", "model=resnet18",
                  "method=dense", "epochs=1", "dataset.batch_size=8", "dataset.eval_batch_size=8", *_res(32),
                  f"hydra.run.dir={tmp_path}", env={"OMP_NUM_THREADS": None})  # torch's default threads
    assert out.returncode == 0, out.stderr
    (row,) = read_jsonl(tmp_path / "metrics.jsonl")
    assert row["train_res"] == 32 and 0 <= row["val_top1"] <= 1 and row["train_loss"] > 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["torch_threads"] == machine_threads and summary["status"] == "finished"


def test_cifar_trains_an_epoch_with_ffcv(data, tmp_path):
    out = run_cli("dataset=cifar10", "dataset.loader=ffcv", f"dataset.ffcv_train={data['cifar_train']}",
                  f"dataset.ffcv_val={data['cifar_val']}", "model=resnet20", "model.width=0.25", "epochs=1",
                  *SMALL, f"hydra.run.dir={tmp_path}")
    assert out.returncode == 0, out.stderr
    (row,) = read_jsonl(tmp_path / "metrics.jsonl")
    assert row["train_res"] == 32 and 0 <= row["val_top1"] <= row["val_top5"] <= 1


def test_celeba_trains_an_epoch_with_ffcv_and_reports_attribute_metrics(data, tmp_path):
    out = run_cli("dataset=celeba", f"dataset.ffcv_train={data['celeba_train']}",
                  f"dataset.ffcv_val={data['celeba_val']}", "model=resnet20", "model.width=0.25", "epochs=1",
                  *SMALL, *_res(24), f"hydra.run.dir={tmp_path}")
    assert out.returncode == 0, out.stderr
    (row,) = read_jsonl(tmp_path / "metrics.jsonl")
    assert 0 <= row["val_mean_attr_acc"] <= 1 and 0 <= row["val_uncertain_fraction"] <= 1
    assert row["val_loss"] > 0 and "val_top1" not in row


def test_build_data_refuses_files_that_do_not_fit_the_config(data):
    from omegaconf import OmegaConf

    from acdc_bench.config import ConfigError
    from acdc_bench.data import build_data

    conf = ROOT / "conf" / "dataset"
    celeba = OmegaConf.merge(OmegaConf.load(conf / "celeba.yaml"), {"seed": 0, "dataset": {
        "ffcv_train": str(data["cifar_train"]), "ffcv_val": str(data["cifar_val"])}})
    with pytest.raises(ConfigError, match="dataset.ffcv_train=.*attribute vectors"):  # CIFAR labels
        build_data(celeba, torch.device("cpu"))
    imagenet = OmegaConf.merge(OmegaConf.load(conf / "imagenet.yaml"), {"seed": 0, "dataset": {
        "ffcv_train": str(data["cifar_train"]), "ffcv_val": str(data["cifar_val"]), "num_classes": 3,
        "batch_size": 8}})
    with pytest.raises(ConfigError, match="dataset.num_classes=3.*largest label"):
        build_data(imagenet, torch.device("cpu"))
