"""The hook notebooks on the real pretrained model of the zoo (SmolLM2-135M-Instruct), not the toy.

`07_hooks`, `08_edits` and `22_distributed` read `INTERP_NBS_MODEL`; every size in their checks comes from `layout`, so
the same cells must pass on a 30-layer Llama with grouped-query attention (9 query, 3 key/value heads),
a BPE tokenizer and weights nobody here trained. `make env` converts the model once into the cache.
"""
import os, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
REAL = "smollm2-135m-instruct"


def run_notebook(name):
    from interp_nbs.checkpoints import zoo_names
    assert REAL in zoo_names(), f"{REAL} is not in the zoo ({zoo_names()}): run `make env`, which converts it once"
    env = {**os.environ, "INTERP_NBS_MODEL": REAL, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg", "HF_HUB_OFFLINE": "1"}
    nbdev_test = Path(sys.executable).parent / "nbdev_test"
    run = subprocess.run([str(nbdev_test), "--path", str(ROOT / "nbs" / name), "--do_print"],
                         capture_output=True, text=True, timeout=900, env=env, cwd=ROOT)
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]


def test_hooks_notebook_passes_on_the_real_model():
    run_notebook("07_hooks.ipynb")                      # ~25 s on a quiet 2-core machine


def test_edits_notebook_passes_on_the_real_model():
    run_notebook("08_edits.ipynb")                      # head edits, head outputs and patterns on 9 heads, 3 key/value heads


def test_distributed_notebook_passes_on_the_real_model():
    "Every split (TP on 3 ranks: 9 and 3 heads, FSDP2, pipeline) against one process: ~5 min here, so `make test-real`."
    if not os.environ.get("INTERP_NBS_REAL"): pytest.skip("22 on SmolLM2 takes minutes on 2 cores: run `make test-real`")
    run_notebook("22_distributed.ipynb")
