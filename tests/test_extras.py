"""The wheel's metadata covers every import: each module's imports (read with `ast`, also those inside
functions) must be satisfied by settings.ini's `requirements` or by the extras `module_extras` gives the
module, following the package's own imports (a module importing `interp_nbs.icl_tasks` needs `[icl]` too).
A failure names the module, the import, its line and the settings.ini line to add."""
import ast, re, shlex, sys
from configparser import ConfigParser
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIB = "interp_nbs"
# import name -> distribution, where they differ and the package may not be installed here
KNOWN = {"yaml": "pyyaml", "tuned_lens": "tuned-lens", "sklearn": "scikit-learn", "PIL": "pillow", "lm_eval": "lm-eval",
         "google": "protobuf", "huggingface_hub": "huggingface-hub"}


def norm(dist: str) -> str:
    "A requirement or distribution name normalised (PEP 503): `lm_eval>=0.4` -> `lm-eval`."
    return re.sub(r"[-_.]+", "-", re.split(r"[<>=!~\[; ]", dist.strip(), 1)[0]).lower()


def config(root=ROOT):
    cp = ConfigParser(delimiters=["="]); cp.read(root / "settings.ini")
    cfg = cp["DEFAULT"]
    extras = {k[len("extra_"):]: {norm(r) for r in shlex.split(v)} for k, v in cfg.items() if k.startswith("extra_")}
    mod_extras = {}
    for item in cfg.get("module_extras", "").split():
        mod, _, names = item.partition(":")
        mod_extras[mod] = [n for n in names.split(",") if n]
    return ({norm(r) for r in shlex.split(cfg.get("requirements", ""))}, extras, mod_extras,
            set(cfg.get("separate_env_imports", "").split()))


def imports(path: Path):
    "{top-level name: first line} of third-party and package imports of a module, anywhere in it."
    out = {}
    for n in ast.walk(ast.parse(path.read_text())):
        if isinstance(n, ast.Import): names = [a.name for a in n.names]
        elif isinstance(n, ast.ImportFrom):
            if n.level: names = [f"{LIB}.{n.module or ''}".rstrip(".")] if n.module else [f"{LIB}.{a.name}" for a in n.names]
            else: names = [n.module]
        else: continue
        for name in names:
            top = name.split(".")[0]
            key = name if top == LIB else top
            if top == LIB and name == LIB:
                if isinstance(n, ast.ImportFrom):                                 # from interp_nbs import zoo
                    for a in n.names: out.setdefault(f"{LIB}.{a.name}", n.lineno)
                continue                                                          # import interp_nbs
            if top in sys.stdlib_module_names or top == "__future__": continue
            out.setdefault(key, n.lineno)
    return out


def dists_of(top: str, table=None) -> set:
    "Distributions that provide import name `top` (installed metadata, else the KNOWN table, else the name)."
    table = metadata.packages_distributions() if table is None else table
    found = {norm(d) for d in table.get(top, [])}
    return found or {norm(KNOWN.get(top, top))}


def uncovered(lib: Path = ROOT / LIB, root: Path = ROOT):
    "Lines naming each import no requirement covers, with the fix."
    core, extras, mod_extras, separate = config(root)
    table = metadata.packages_distributions()
    mods = {p.stem: imports(p) for p in sorted(lib.glob("*.py")) if p.stem != "_modidx"}
    bad, gaps = [], {}                          # (file, line, import) -> [(module, chain)]
    for mod in mods:
        for ex in mod_extras.get(mod, []):
            if ex not in extras: bad.append(f"settings.ini: module_extras gives {mod} the extra [{ex}], which no `extra_{ex}` defines")
        allowed = core | set().union(*[extras.get(e, set()) for e in mod_extras.get(mod, [])])
        seen, todo = {mod}, [(mod, [])]
        while todo:                                              # the module and the package modules it imports
            m, chain = todo.pop()
            for name, line in mods.get(m, {}).items():
                if name.startswith(LIB + "."):
                    sub = name.split(".")[1]
                    if sub in mods and sub not in seen: seen.add(sub); todo.append((sub, chain + [f"{m}.py:{line} imports {sub}"]))
                    continue
                if name in separate: continue
                if dists_of(name, table) & allowed: continue
                gaps.setdefault((m, line, name), []).append((mod, chain))
    missing = {}                                 # module -> distributions it lacks (to suggest one extra for all)
    for (m, line, name), users in gaps.items():
        for u, _ in users: missing.setdefault(u, set()).update(dists_of(name, table))
    for (m, line, name), users in sorted(gaps.items()):
        cover = lambda e: -sum(len(missing[u] & extras[e]) for u, _ in users)
        need = sorted((e for e, reqs in extras.items() if dists_of(name, table) & reqs), key=lambda e: (cover(e), e))
        dist = norm(KNOWN.get(name, name))
        mods_ = sorted(u for u, _ in users)
        chains = [f"{u} via {' -> '.join(c)}" for u, c in users if c]
        via = "; ".join(chains[:3]) + (f"; {len(chains) - 3} more" if len(chains) > 3 else "")
        if need: fix = f"give {', '.join(mods_)} the extra [{need[0]}] in module_extras (e.g. `{mods_[0]}:{need[0]}`)"
        elif len(mods_) > 2: fix = f"add `{dist}` to `requirements` (needed by {len(mods_)} modules)"
        else: fix = f"add an extra (`extra_{m} = {dist}`) and `{m}:{m}` to module_extras"
        bad.append(f"{LIB}/{m}.py:{line} imports `{name}`, which neither `requirements` nor the extras of "
                   f"{', '.join(mods_)} cover" + (f" (reached as {via})" if via else "") + f": in settings.ini, {fix}")
    return bad


def test_every_import_is_covered_by_its_extra():
    bad = uncovered()
    assert not bad, "imports not declared in the wheel's metadata:\n  " + "\n  ".join(bad)


def test_check_names_an_uncovered_import(tmp_path):
    "The check can fail: a module importing an undeclared package is named with its line and the fix."
    lib = tmp_path / LIB; lib.mkdir()
    (tmp_path / "settings.ini").write_text("[DEFAULT]\nrequirements = torch numpy\nextra_icl = lm_eval datasets\n"
                                           "module_extras = icl:icl\nseparate_env_imports = petals\n")
    (lib / "core.py").write_text("import torch\nimport numpy as np\n")
    (lib / "icl.py").write_text("import torch\ndef f():\n    import lm_eval\n    from datasets import load_dataset\n")
    (lib / "swarm.py").write_text("import petals\nfrom .icl import f\n")            # needs [icl] through icl.py
    (lib / "das.py").write_text("import torch\nimport datasets\n")                # no extra for das
    bad = uncovered(lib, tmp_path)
    assert len(bad) == 3, bad
    assert any(b.startswith(f"{LIB}/das.py:2 imports `datasets`") and "`das:icl`" in b for b in bad), bad
    assert any(b.startswith(f"{LIB}/icl.py:3 imports `lm_eval`") and "swarm via swarm.py:2 imports icl" in b
               and "`swarm:icl`" in b for b in bad), bad
    (tmp_path / "settings.ini").write_text("[DEFAULT]\nrequirements = torch numpy\nextra_icl = lm_eval datasets\n"
                                           "module_extras = icl:icl swarm:icl das:icl\nseparate_env_imports = petals\n")
    assert uncovered(lib, tmp_path) == []


def test_setup_declares_the_extras():
    "setup.py turns every `extra_*` into an extra, `[all]` their union; torch is not capped."
    import subprocess, tempfile, shutil
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        for f in ("setup.py", "settings.ini", "README.md", "pyproject.toml"): shutil.copy(ROOT / f, d / f)
        (d / LIB).mkdir(); (d / LIB / "__init__.py").write_text("")
        r = subprocess.run([sys.executable, "setup.py", "-q", "egg_info"], cwd=d, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr[-2000:]
        req = (d / f"{LIB}.egg-info" / "requires.txt").read_text()
    _, extras, _, _ = config()
    sections = dict(re.findall(r"\[(\w+)\]\n(.*?)(?=\n\[|\Z)", req, re.S))
    for e, reqs in extras.items():
        assert {norm(r) for r in sections[e].split()} == reqs, e
    assert {norm(r) for r in sections["all"].split()} == set().union(*extras.values())
    torch_req = next(l for l in req.splitlines() if norm(l) == "torch")
    assert "<" not in torch_req, torch_req


# ------------------------------------------------------------------ make test-install: a fresh venv per extra
# A small call per part, run in a fresh venv where only torch==2.13.0 and the wheel with that extra are installed.
# An extra without an entry here imports every module module_extras maps to it and every package it declares.
CORE_CALL = """
import torch
from interp_nbs.checkpoints import load
from interp_nbs.hooks import capture
from interp_nbs.layout import layout
model, tok = load("llama-icl")
ids = tok("recall : bafo gomi kuzi dade | bafo", return_tensors="pt").input_ids
with torch.no_grad(), capture(model, layout(model).blocks) as t: model(ids)
assert len(t) == len(layout(model).blocks)
"""
CALLS = {
    "": CORE_CALL,
    "icl": """
from interp_nbs.checkpoints import load
from interp_nbs.icl_tasks import Evaluator, task_config
model, tok = load("llama-icl")
ev = Evaluator(model, tok, tasks=["icl_pairs"], limit=4)
r = ev.samples(2)["icl_pairs"]
assert len(r.doc_ids) == 4
""",
    "widgets": ("widgets,icl", """
import torch
from interp_nbs.pruning import explorer
ui = explorer({("t", 1): {"heads": torch.rand(2, 4)}})
assert ui.drawn == ("t", 1)
"""),                                  # the explorer lives in pruning, which needs [icl] too (module_extras)
    "attribution": """
import inseq
from interp_nbs.checkpoints import load
model, tok = load("llama-icl")
m = inseq.load_model(model, "saliency", tokenizer=tok)
out = m.attribute("recall : bafo gomi | bafo", "recall : bafo gomi | bafo gomi", show_progress=False)
assert out.sequence_attributions
""",
    "finetune": """
import peft, trl
from interp_nbs.checkpoints import load
model, tok = load("llama-icl")
m = peft.get_peft_model(model, peft.LoraConfig(r=2, target_modules=["q_proj"]))
assert sum(p.numel() for p in m.parameters() if p.requires_grad) > 0
""",
    "das": """
import datasets
d = datasets.Dataset.from_dict({"x": [1, 2, 3]})
assert d.num_rows == 3
""",
}


def _import_name(req: str) -> str:
    inv = {norm(v): k for k, v in KNOWN.items()}
    n = norm(req)
    return inv.get(n, n.replace("-", "_"))


def smoke_code(extra: str, root=ROOT, wheel=None) -> str:
    "The small call of an extra; for [all] (and extras without one) imports of its modules (those in `wheel`)."
    if extra in CALLS: return CALLS[extra][1] if isinstance(CALLS[extra], tuple) else CALLS[extra]
    core, extras, mod_extras, _ = config(root)
    if wheel is not None:
        import zipfile
        present = {Path(n).stem for n in zipfile.ZipFile(wheel).namelist() if re.fullmatch(rf"{LIB}/\w+\.py", n)}
    else: present = {p.stem for p in (root / LIB).glob("*.py")}
    mods = [m for m, ex in mod_extras.items() if extra in ex and m in present] if extra != "all" else \
        sorted(present - {"_modidx", "__init__"})
    reqs = extras.get(extra, set())
    return "\n".join([f"import {_import_name(r)}" for r in sorted(reqs)] +
                     [f"import {LIB}.{m}" for m in sorted(mods)] + ["print('imported', %r)" % mods])


def install_check(extras=None, keep=False):
    "Fresh venv per extra: torch==2.13.0, then the wheel with the extra, then its small call. Returns failures."
    import subprocess, tempfile, time, os
    _, all_extras, mod_extras, separate = config()
    extras = extras or [""] + sorted(all_extras) + ["all"]
    work = Path(tempfile.mkdtemp(prefix="interp-nbs-install-"))
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(work / "dist"), str(ROOT)],
                       capture_output=True, text=True)
    if r.returncode: sys.exit("building the wheel failed:\n" + r.stderr[-3000:])
    wheel = next((work / "dist").glob(f"{LIB}-*.whl"))
    failed, times = [], {}
    for extra in extras:
        t0 = time.time(); v = work / f"venv-{extra or 'core'}"
        py = v / "bin" / "python"
        env = {k: val for k, val in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
        env.update(HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1", MPLBACKEND="Agg")
        steps = [[sys.executable, "-m", "venv", str(v)],
                 [str(py), "-m", "pip", "install", "-q", "torch==2.13.0"],
                 [str(py), "-m", "pip", "install", "-q", f"{wheel}" + (f"[{spec}]" if (spec := (
                     CALLS[extra][0] if isinstance(CALLS.get(extra), tuple) else extra)) else "")],
                 [str(py), "-c", smoke_code(extra, wheel=wheel)]]
        ok = True
        for cmd in steps:
            r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=work)
            if r.returncode:
                ok = False
                failed.append(f"[{extra or 'core'}] {' '.join(cmd[:4])[:120]}: {(r.stderr or r.stdout)[-1500:]}"); break
        times[extra or "core"] = time.time() - t0
        print(f"[{extra or 'core'}] {'ok' if ok else 'FAILED'} in {times[extra or 'core']:.0f} s", flush=True)
        if not keep: subprocess.run(["rm", "-rf", str(v)])
    print(f"test-install: {len(extras)} venvs in {sum(times.values()):.0f} s")
    if separate: print(f"not installable as extras (their own environment, requirements-petals.txt): {' '.join(sorted(separate))}")
    return failed


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description="make test-install: a fresh venv per extra imports its part and runs a small call")
    ap.add_argument("extras", nargs="*", help="extras to check (default: core, every extra, all); 'core' = no extra")
    ap.add_argument("--keep", action="store_true", help="keep the venvs")
    a = ap.parse_args()
    bad = install_check([("" if e == "core" else e) for e in a.extras] or None, a.keep)
    if bad: sys.exit("install check failed:\n  " + "\n  ".join(bad))
