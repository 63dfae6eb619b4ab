"""Paper 001's acoustic-model training recipes, one module per ``recipe:`` value of a config file.

Recipe contract (``crossdistill asr train`` and the experiment grids call every recipe the same way): the module
``crossdistill.train.asr.<recipe>`` exposes

    load_config(path: str | Path | None, overrides: list[str] | None) -> omegaconf.DictConfig
        schema <- YAML file <- ``key=value`` overrides, typed and checked; raises ValueError or FileNotFoundError
        naming the file or key at fault, before anything is read or written. The config has ``recipe`` and ``out``.
    train(config: omegaconf.DictConfig) -> dict[str, Any]
        checks the inputs, then trains (or resumes, or returns a finished run unchanged) and returns what it writes
        to ``<out>/metrics.json``; {} on DDP ranks other than 0.

Recipes: ``hybrid`` (this package's ``hybrid``: the DNN-HMM acoustic model with auxiliary KD heads, paper 001
eq. 4); ``seq2seq`` (issue 13). ``recipes.run_recipe`` dispatches on the config's ``recipe`` key.
"""
