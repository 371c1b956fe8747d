"""GLUE through Hugging Face ``datasets`` (paper 001 App. H; WNLI excluded).

The columns and evaluation splits of each task are facts of the data set, so they live
here; the labels and metrics per task (Table H.7) are in ``conf/dataset/glue.yaml``.
``dataset.path`` reads a ``DatasetDict`` saved with ``save_to_disk``; otherwise
``datasets.load_dataset(dataset.hub_name, task)``, which with ``HF_DATASETS_OFFLINE=1``
reads the local cache only. A missing data set is one line saying how to fetch it once.
"""

from __future__ import annotations

import os
from typing import Any

from acdc_bench.errors import ConfigError

# task -> (first text column, second text column or None, evaluation splits in group order)
GLUE_TASKS: dict[str, tuple[str, str | None, tuple[str, ...]]] = {
    "rte": ("sentence1", "sentence2", ("validation",)),
    "qnli": ("question", "sentence", ("validation",)),
    "mrpc": ("sentence1", "sentence2", ("validation",)),
    "sst2": ("sentence", None, ("validation",)),
    "cola": ("sentence", None, ("validation",)),
    "stsb": ("sentence1", "sentence2", ("validation",)),
    "mnli": ("premise", "hypothesis", ("validation_matched", "validation_mismatched")),  # groups m, mm
    "qqp": ("question1", "question2", ("validation",)),
}


def load_glue(task: str, hub_name: str, path: str | None) -> Any:
    """The task's ``DatasetDict`` (a local folder, or the Hub / the local cache)."""
    import datasets

    datasets.disable_progress_bars()
    if path is not None:
        try:
            return datasets.load_from_disk(path)
        except (FileNotFoundError, OSError, ValueError):
            raise ConfigError("dataset.path", path, "a folder written by DatasetDict.save_to_disk") from None
    try:
        return datasets.load_dataset(hub_name, task)
    except Exception as err:  # datasets raises ConnectionError, FileNotFoundError, ValueError, ...
        offline = os.environ.get("HF_DATASETS_OFFLINE", os.environ.get("HF_HUB_OFFLINE", "")) not in ("", "0")
        why = "not in the local Hugging Face cache (offline)" if offline else \
            f"not loadable ({type(err).__name__}: {str(err).splitlines()[0][:120] if str(err) else ''})"
        raise ConfigError("dataset.task", task, f"a GLUE task that loads; {hub_name}/{task} is {why}. Fetch "
                          "it once with network access: python -c \"import datasets; "
                          f"datasets.load_dataset('{hub_name}', '{task}')\" (or set dataset.path to a "
                          "save_to_disk folder)") from None


def glue_split(data: Any, task: str, split: str) -> tuple[list[str], list[str] | None, list[float]]:
    """(texts, second texts or None, labels) of one split."""
    a, b, _ = GLUE_TASKS[task]
    part = data[split]
    if part.num_rows and min(part["label"]) < 0:
        raise ConfigError("dataset.task", task, f"a split with labels ({split} has none: GLUE test sets "
                          "are unlabelled)")
    return list(part[a]), None if b is None else list(part[b]), [float(x) for x in part["label"]]
