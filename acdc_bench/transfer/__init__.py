"""Transfer learning from a finished run (paper 001 App. F, after its reference [33]).

``datasets`` (downstream tasks by name: Table F.6's twelve from a user's folders, offline
tasks for twins), ``settings`` (``cfg.transfer`` and ``conf/downstream/*.yaml``), ``finetune``
(linear on features extracted once; full with the mask fixed), ``aie`` (Eq. 5), ``job`` (one
``task=transfer`` job: upstream and baseline runs, cached per-task results, ``summary.json``).
"""
