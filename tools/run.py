"""Run the notebooks: into `_build/` for the site, back into `nbs/` as committed outputs, or with their slow cells.

    python tools/run.py tutorials [NB ...]   # execute (slow cells skipped) into _build/nbs; one line per notebook
    python tools/run.py outputs [NB ...]     # execute and write the outputs back into nbs/ (make outputs NB=...)
    python tools/run.py stale                # fail when a code cell changed since its outputs were made
    python tools/run.py reproduce [NB ...]   # run the slow cells into _build/results, print shipped vs recomputed
    python tools/run.py ship NB              # copy NB's recomputed results over the shipped ones (then commit)
    python tools/run.py tree-state FILE      # write git's view of the work tree to FILE ...
    python tools/run.py tree-unchanged FILE  # ... and fail if a command since then changed a tracked file

Cells are skipped as `nbdev_test` skips them (`#| eval: false`, `nbdev_export()`, and the flags of settings.ini's
`tst_flags` except those asked for). A notebook whose kernelspec names the Petals environment is executed by that
environment's python. Nothing here writes into `nbs/` except `outputs`, nor into the package except `ship`.
"""
import argparse, hashlib, json, os, re, subprocess, sys, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from docs import directives                              # nbdev directives at the top of a cell (`#| slow`)
NBS = ROOT / "nbs"
BUILD = ROOT / "_build"
RESULTS = BUILD / "results"
ENVS = {"interp-nbs-petals": ROOT / ".venv-petals"}     # kernelspec name -> the environment that runs it
META = "interp_nbs"                                       # notebook metadata key (settings.ini allowed_metadata_keys)


def notebooks(names=()):
    "The notebooks named (`27_paris`, `27_paris.ipynb`), or every one in nbs/ in order."
    every = sorted(p for p in NBS.glob("*.ipynb") if not p.name.startswith(("_", ".")))
    if not names: return every
    out = []
    for n in names:
        p = NBS / (n if n.endswith(".ipynb") else n + ".ipynb")
        if not p.exists(): sys.exit(f"no notebook {p.relative_to(ROOT)}: names are like 27_paris (see nbs/)")
        out.append(p)
    return out


def tst_flags() -> set:
    from configparser import ConfigParser
    cp = ConfigParser(delimiters=["="]); cp.read(ROOT / "settings.ini")
    return set(cp["DEFAULT"].get("tst_flags", "").split())


def skipped(src: str, flags=()) -> bool:
    "Whether `nbdev_test --flags FLAGS` would skip a code cell with source `src`."
    d = directives(src)
    if "nbdev_export" + "(" in src or d.get("eval", "").lower() == "false": return True
    return bool((tst_flags() - set(flags)) & d.keys())


def source_hash(src: str) -> str:
    return hashlib.sha1(src.rstrip().encode()).hexdigest()[:12]


# ------------------------------------------------------------------------------------------- deterministic outputs
_TQDM = re.compile(r"(\|[^|\n]*\|\s*\d+/\d+)\s*\[[^\]\n]*\]")        # "| 10/10 [00:12<00:00, 1.2it/s]" -> "| 10/10"


def clean_text(text: str) -> str:
    """Output text as it should be committed: a progress bar's final state only, no timings in it, no memory
    addresses, no absolute paths of this machine or random temporary names."""
    lines = []
    for line in text.split("\n"):
        line = line.rstrip("\r").split("\r")[-1]            # what a terminal shows after carriage returns
        lines.append(_TQDM.sub(r"\1", line))
    text = "\n".join(lines)
    text = re.sub(r" at 0x[0-9a-fA-F]+", "", text)
    text = text.replace(str(ROOT) + "/", "").replace(str(ROOT), ".").replace(str(Path.home()), "~")
    return re.sub(r"/tmp/[\w.-]*?(tmp|pymp-)[\w.-]+", "/tmp/…", text)


_BAR = re.compile(r"^(?P<desc>.*?):?\s*\d+%\|")


def last_bars(text: str) -> str:
    "Of the progress bars in a stream, only the last line of each description (libraries draw one bar per call)."
    lines = text.split("\n")
    last = {}
    for i, l in enumerate(lines):
        m = _BAR.match(l)
        if m: last[m.group("desc").strip()] = i
    return "\n".join(l for i, l in enumerate(lines) if not _BAR.match(l) or last[_BAR.match(l).group("desc").strip()] == i)


def clean_outputs(cell):
    "Make one executed cell's outputs deterministic (see `clean_text`); one line per progress bar; no empty streams."
    keep = []
    for o in cell.get("outputs", []):
        if o.get("output_type") == "stream":
            t = o["text"] if isinstance(o["text"], str) else "".join(o["text"])
            t = last_bars(clean_text(t))
            if o.get("name") == "stderr": t = "".join(l for l in t.splitlines(True) if l.strip())   # bars leave blank lines
            if not t.strip(): continue
            o["text"] = t.splitlines(True)
        for k, v in o.get("data", {}).items():
            if k.startswith("text/"):
                t = clean_text(v if isinstance(v, str) else "".join(v))
                o["data"][k] = t.splitlines(True)
        if "execution_count" in o: o["execution_count"] = None
        o.get("metadata", {}).pop("execution", None)
        keep.append(o)
    cell["outputs"] = keep


# -------------------------------------------------------------------------------------------------- execution
def run_here(nb_path: Path, dest: Path, flags=(), label=None) -> dict:
    """Execute one notebook in this process, cell by cell (progress on stderr), and write it with outputs to `dest`.
    Returns {"seconds", "cells", "failed": None or "cell N: error"}."""
    from execnb.nbio import read_nb, write_nb
    from execnb.shell import CaptureShell
    os.environ["IN_TEST"] = "1"                      # as nbdev_test: notebooks may shorten loops they know are tests
    nb = read_nb(nb_path)
    todo = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and not skipped(c.source, flags)]
    label = label or nb_path.stem
    t0, failed, cur = time.time(), None, os.getcwd()
    print(f"  {label}: {len(todo)} cells to run" + (f" (flags: {' '.join(flags)})" if flags else ""), file=sys.stderr, flush=True)
    sh = CaptureShell(nb_path, mpl_format="png")
    os.chdir(nb_path.parent)
    try:
        for k, i in enumerate(todo, 1):
            tc = time.time()
            sh.cell(nb.cells[i])
            dt = time.time() - tc
            if dt >= 10 or sys.stderr.isatty():
                print(f"  {label}: cell {k} of {len(todo)} (#{i}) took {dt:.0f} s, {time.time() - t0:.0f} s so far",
                      file=sys.stderr, flush=True)
            if sh.exc:
                failed = f"cell {i}: " + sh.prettytb(fname=str(nb_path.relative_to(ROOT)))
                break
    finally: os.chdir(cur)
    for c in nb.cells:
        if c.cell_type == "code": clean_outputs(c)
    dest.parent.mkdir(parents=True, exist_ok=True)
    write_nb(nb, dest)
    return dict(seconds=time.time() - t0, cells=len(todo), failed=failed)


def run(nb_path: Path, dest: Path, flags=(), env=None) -> dict:
    "Execute `nb_path` in a fresh process of the environment its kernelspec names (see `run_here`)."
    kernel = json.loads(nb_path.read_text())["metadata"].get("kernelspec", {}).get("name")
    py = ENVS[kernel] / "bin" / "python" if kernel in ENVS else ROOT / ".venv" / "bin" / "python"
    if not py.exists(): py = Path(sys.executable)
    with subprocess.Popen([str(py), __file__, "_one", str(nb_path), str(dest), ",".join(flags)], stdout=subprocess.PIPE,
                          text=True, env={**os.environ, **(env or {})}) as p:
        out, _ = p.communicate()
    try: return json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError): return dict(seconds=0, cells=0, failed=f"the runner process exited {p.returncode}")


def run_many(paths, dest_dir: Path, flags=(), workers=2, env=None) -> dict:
    "Execute notebooks, two at a time, into `dest_dir`; print one line per notebook as each ends."
    results, t0 = {}, time.time()
    def one(p):
        r = run(p, dest_dir / p.name, flags, env)
        status = "ok" if not r["failed"] else "FAILED"
        print(f"{p.stem:<18} {status:<6} {r['cells']:>3} cells {r['seconds']:>7.0f} s", flush=True)
        if r["failed"]: print(r["failed"], flush=True)
        results[p.stem] = r
        return r
    with ThreadPoolExecutor(workers) as ex: list(ex.map(one, paths))
    print("\nnotebook           status  cells  seconds")
    for p in paths:
        r = results[p.stem]
        print(f"{p.stem:<18} {'FAILED' if r['failed'] else 'ok':<6} {r['cells']:>6} {r['seconds']:>8.0f}")
    print(f"{len(paths)} notebooks, {sum(1 for r in results.values() if r['failed'])} failed, "
          f"{time.time() - t0:.0f} s in all (wall)", flush=True)
    return results


# ---------------------------------------------------------------------------------------- committed outputs
def write_back(executed: Path, target: Path):
    """Copy the outputs of `executed` into the notebook `target` (cells matched by id, sources must be the ones
    executed), cleaned as nbdev_clean does, with a hash of every code cell's source recorded in the metadata."""
    from nbdev.clean import clean_nb
    ex, nb = json.loads(executed.read_text()), json.loads(target.read_text())
    if len(ex["cells"]) != len(nb["cells"]):
        sys.exit(f"{target.name}: cells were added or removed while it ran: run `make outputs NB={target.stem}` again")
    hashes, ids = {}, {c.get("id") for c in nb["cells"]}
    for i, (c, e) in enumerate(zip(nb["cells"], ex["cells"])):
        if "id" not in c:                                   # older notebooks: give every cell a stable id once
            k = 0
            while (cid := hashlib.sha1(f"{target.stem}-{i}-{k}".encode()).hexdigest()[:8]) in ids: k += 1
            c["id"] = cid; ids.add(cid)
        if c["cell_type"] != "code": continue
        src = "".join(c["source"])
        if "".join(e["source"]) != src:
            sys.exit(f"{target.name}: cell {i} changed while it ran: run `make outputs NB={target.stem}` again")
        c["outputs"] = e.get("outputs", [])
        hashes[c["id"]] = source_hash(src)
    nb["metadata"][META] = {"sources": hashes}
    clean_nb(nb, allowed_metadata_keys=[META])
    target.write_text(json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n")   # as nbdev_clean writes


def stale(paths) -> list:
    "Lines naming every notebook whose code cells changed since their outputs were made (or never got any)."
    out = []
    for p in paths:
        nb = json.loads(p.read_text())
        rec = nb["metadata"].get(META, {}).get("sources")
        if rec is None:
            out.append(f"{p.stem}: no outputs recorded: run `make outputs NB={p.stem}`"); continue
        changed = [str(i) for i, c in enumerate(nb["cells"])
                   if c["cell_type"] == "code" and rec.get(c.get("id")) != source_hash("".join(c["source"]))]
        if changed:
            out.append(f"{p.stem}: cell{'s' if len(changed) > 1 else ''} {', '.join(changed)} changed since "
                       f"{'their' if len(changed) > 1 else 'its'} outputs were made: run `make outputs NB={p.stem}`")
    return out


# ------------------------------------------------------------------------------------------------- reproduce
def reproduce(paths) -> bool:
    """Run each notebook with its slow cells, results into _build/results, and print one table of every headline
    number (shipped vs recomputed, tolerance, verdict) with the minutes each notebook took. True if none failed."""
    rows, minutes, ok = [], {}, True
    for p in paths:
        (RESULTS / p.stem / "reproduce.jsonl").unlink(missing_ok=True)
        print(f"reproducing {p.stem} (slow cells included) ...", flush=True)
        r = run(p, BUILD / "reproduce" / p.name, flags=("slow",), env={"INTERP_NBS_RESULTS": str(RESULTS)})
        minutes[p.stem] = r["seconds"] / 60
        if r["failed"]:
            ok = False; print(f"{p.stem}: FAILED\n{r['failed']}", flush=True)
        f = RESULTS / p.stem / "reproduce.jsonl"
        rows += [dict(json.loads(l), nb=p.stem) for l in f.read_text().splitlines()] if f.exists() else []
    fmt = lambda v: "-" if v is None else f"{v:.6g}"
    print(f"\n{'notebook':<16} {'headline number':<50} {'shipped':>11} {'recomputed':>11} {'tol':>8} verdict  minutes")
    for r in rows:
        print(f"{r['nb']:<16} {r['label'][:50]:<50} {fmt(r['shipped']):>11} {fmt(r['recomputed']):>11} {fmt(r['tol']):>8} "
              f"{r['verdict']:<7}  {minutes[r['nb']]:.1f}")
    for p in paths:
        if not any(r["nb"] == p.stem for r in rows): print(f"{p.stem:<16} (no headline numbers compared)  {minutes[p.stem]:.1f} min")
    bad = [r for r in rows if r["verdict"] == "FAIL"]
    print(f"{len(rows)} numbers: {len(rows) - len(bad)} reproduced or new, {len(bad)} FAIL; "
          f"{sum(minutes.values()):.1f} minutes")
    return ok and not bad


def with_slow_cells():
    return [p for p in notebooks() if any(c["cell_type"] == "code" and "slow" in directives("".join(c["source"]))
                                         for c in json.loads(p.read_text())["cells"])]


# ------------------------------------------------------------------------------------------------ work tree
def tree_state() -> dict:
    "Tracked files that differ from HEAD (with a hash of their content) and untracked files git does not ignore."
    def git(*a): return subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True).stdout
    if not (ROOT / ".git").exists(): return {}
    files = {l[3:] for l in git("status", "--porcelain", "--untracked-files=all").splitlines()}
    return {f: hashlib.sha1((ROOT / f).read_bytes()).hexdigest() if (ROOT / f).is_file() else "absent" for f in sorted(files)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("action", choices=["tutorials", "outputs", "stale", "reproduce", "ship", "tree-state", "tree-unchanged", "_one"])
    ap.add_argument("names", nargs="*")
    a = ap.parse_args(argv)
    if a.action == "_one":                                   # the child process of `run`
        src, dest, flags = a.names[0], a.names[1], [f for f in (a.names[2] if len(a.names) > 2 else "").split(",") if f]
        r = run_here(Path(src), Path(dest), flags)
        print(json.dumps(r)); return
    if a.action == "tutorials":
        res = run_many(notebooks(a.names), BUILD / "nbs")
        for f in NBS.glob("*.yml"): (BUILD / "nbs" / f.name).write_text(f.read_text())
        if any(r["failed"] for r in res.values()): sys.exit("notebooks that failed: " + ", ".join(k for k, r in res.items() if r["failed"]))
    elif a.action == "outputs":
        paths = notebooks(a.names)
        res = run_many(paths, BUILD / "outputs")
        for p in paths:
            if not res[p.stem]["failed"]: write_back(BUILD / "outputs" / p.name, p)
        failed = [k for k, r in res.items() if r["failed"]]
        if failed: sys.exit(f"outputs not written for (a cell failed): {', '.join(failed)}")
        print(f"outputs written into nbs/ for {len(paths)} notebook(s): review `git diff --stat nbs` and commit")
    elif a.action == "stale":
        lines = stale(notebooks(a.names))
        if lines: sys.exit("\n".join(lines))
        print(f"outputs up to date in {len(notebooks(a.names))} notebooks")
    elif a.action == "reproduce":
        if not reproduce(notebooks(a.names) if a.names else with_slow_cells()): sys.exit(1)
    elif a.action == "ship":
        if len(a.names) != 1: sys.exit("usage: python tools/run.py ship NB   (e.g. 19_induction; run `make reproduce NB=19_induction` first)")
        sys.path.insert(0, str(ROOT))
        from interp_nbs.results import ship
        for p in ship(a.names[0], root=RESULTS): print("shipped:", p.relative_to(ROOT))
        print("review `git status` / `git diff --stat` and commit what is right")
    elif a.action == "tree-state":
        Path(a.names[0]).parent.mkdir(parents=True, exist_ok=True)
        Path(a.names[0]).write_text(json.dumps(tree_state(), indent=1))
    elif a.action == "tree-unchanged":
        before, now = json.loads(Path(a.names[0]).read_text()), tree_state()
        changed = sorted(f for f in set(before) | set(now) if before.get(f) != now.get(f))
        if changed: sys.exit(f"the run changed {len(changed)} file(s) git tracks or would add: " + ", ".join(changed[:20]))
        print("work tree unchanged by the run (git status as before)")


if __name__ == "__main__": main()
