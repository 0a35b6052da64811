"""The hook notebooks on the real pretrained models of the zoo, not the toys.

`07_hooks`, `08_edits` and `22_distributed` read `INTERP_NBS_MODEL`; every size in their checks comes from `layout`, so
the same cells must pass on real families: SmolLM2 (a 30-layer Llama, 9 query / 3 key-value heads), Gemma 3 270M (18
layers, 4 query heads sharing 1 key-value head of width 256, normed sublayer outputs, per-head query/key norms) and the
Qwen2.5-Coder models (`make real-models`): capture equals the hidden states, a head ablation equals a raw pre-hook,
weights stay untouched. `make env` converts SmolLM2 and fetches Gemma; `make test` runs both, `make test-real` the rest.
"""
import os, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
IN_CI = ["smollm2-135m-instruct", "gemma-3-270m"]                             # converted by `make env`
REAL_ONLY = ["qwen2.5-coder-0.5b-instruct", "qwen2.5-coder-1.5b-instruct"]     # `make real-models`, then `make test-real`


def run_notebook(name, model):
    from interp_nbs.checkpoints import cache_dir
    assert (cache_dir() / model / "config.json").exists(), (
        f"expected {model} converted in {cache_dir() / model}, got no config.json there: run `make env` "
        "(SmolLM2, Gemma) or `make real-models` (every real model)")
    env = {**os.environ, "INTERP_NBS_MODEL": model, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg", "HF_HUB_OFFLINE": "1"}
    nbdev_test = Path(sys.executable).parent / "nbdev_test"
    run = subprocess.run([str(nbdev_test), "--path", str(ROOT / "nbs" / name), "--do_print"],
                         capture_output=True, text=True, timeout=1800, env=env, cwd=ROOT)
    assert run.returncode == 0, f"expected {name} to pass on {model}, got:\n" + (run.stdout + run.stderr)[-4000:]


def _real(model):
    if model in REAL_ONLY and not os.environ.get("INTERP_NBS_REAL"):
        pytest.skip(f"{model} is fetched by `make real-models`; its checks run under `make test-real`")


@pytest.mark.parametrize("model", IN_CI + REAL_ONLY)
def test_hooks_notebook_passes_on_the_real_model(model):
    _real(model)
    run_notebook("07_hooks.ipynb", model)              # ~25-60 s per model on a quiet 2-core machine


@pytest.mark.parametrize("model", IN_CI + REAL_ONLY)
def test_edits_notebook_passes_on_the_real_model(model):
    _real(model)
    run_notebook("08_edits.ipynb", model)              # head edits, head outputs and patterns; grouped-query attention


def test_distributed_notebook_passes_on_the_real_model():
    "Every split (TP on 3 ranks: 9 and 3 heads, FSDP2, pipeline) against one process: ~5 min here, so `make test-real`."
    if not os.environ.get("INTERP_NBS_REAL"): pytest.skip("22 on SmolLM2 takes minutes on 2 cores: run `make test-real`")
    run_notebook("22_distributed.ipynb", "smollm2-135m-instruct")
