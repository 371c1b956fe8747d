"""The trainer: a readable, method-agnostic loop (:mod:`.loop`) over one training step
(:mod:`.step`), with the run's state on disk (:mod:`.run_state`), its failure guards
(:mod:`.guards`), its console output (:mod:`.console`) and its settings (:mod:`.settings`).

``from acdc_bench.trainer import Trainer, train_step`` is the public surface.
"""

from acdc_bench.settings import TrainerSettings
from acdc_bench.trainer.loop import Trainer, param_groups, select_device
from acdc_bench.trainer.run_state import rng_state, seed_everything, set_rng_state
from acdc_bench.trainer.step import train_step

__all__ = ["Trainer", "TrainerSettings", "param_groups", "rng_state", "seed_everything", "select_device",
           "set_rng_state", "train_step"]
