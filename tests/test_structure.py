"""The layout a newcomer reads: one notebook per module, numbered in dependency order, modules of a readable size,
and an export that is a fixed point (running `nbdev_export` on a clean tree changes nothing)."""
import hashlib, json, re, shutil, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NBS = ROOT / "nbs"
MAX_LINES = 300                      # no module longer than this
IMPORT = re.compile(r"^\s*(?:from\s+interp_nbs\.(\w+)\s+import|import\s+interp_nbs\.(\w+)|from\s+interp_nbs\s+import\s+\(?([\w\s,]+)\)?)",
                    re.M)


def _cells(nb: Path) -> list:
    return ["".join(c["source"]) for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "code"]


def _numbered() -> list:
    "The numbered notebooks in sidebar order (the site and `make tutorials` sort them by file name)."
    return sorted(p for p in NBS.glob("[0-9][0-9]_*.ipynb"))


def _homes() -> dict:
    "module -> the notebook whose `default_exp` writes it."
    out = {}
    for nb in _numbered():
        for s in _cells(nb):
            m = re.search(r"^#\|\s*default_exp\s+(\w+)", s, re.M)
            if m: out[m.group(1)] = nb.stem
    return out


def imported_modules(source: str) -> set:
    "Modules of the package that `source` imports (`from interp_nbs.x import`, `import interp_nbs.x`, `from interp_nbs import x`)."
    out = set()
    for a, b, c in IMPORT.findall(source):
        if a or b: out.add(a or b)
        else: out |= {n.split(" as ")[0].strip() for n in c.split(",") if n.strip()}
    return out


def test_imported_modules_reads_every_form():
    src = "from interp_nbs.hooks import capture\nimport interp_nbs.world as w\nfrom interp_nbs import icl, zoo as z\n"
    assert imported_modules(src) == {"hooks", "world", "icl", "zoo"}, f"got {imported_modules(src)}"


def test_one_notebook_one_module():
    "No notebook exports into another notebook's module by name (nbdev 2 appends to such a module on every export)."
    named = [(nb.stem, m) for nb in NBS.glob("*.ipynb") for s in _cells(nb)
             for m in re.findall(r"^#\|\s*export[i]?\s+(\w+)\s*$", s, re.M)]
    assert named == [], f"expected every exported cell to go to its notebook's own module, got by-name exports {named}"
    homes = _homes()
    modules = {p.stem for p in (ROOT / "interp_nbs").glob("*.py") if not p.stem.startswith("_")}
    assert modules == set(homes), (f"expected one notebook per module, got modules without a notebook "
                                   f"{sorted(modules - set(homes))} and notebooks without a module {sorted(set(homes) - modules)}")


def test_notebooks_import_only_earlier_notebooks():
    "Reading the sidebar top to bottom, no notebook uses a module that a later notebook defines."
    homes, late = _homes(), []
    order = {nb.stem: i for i, nb in enumerate(_numbered())}
    for nb in _numbered():
        for s in _cells(nb):
            for m in imported_modules(s):
                if m in homes and order[homes[m]] > order[nb.stem]: late.append(f"{nb.stem} imports {m} ({homes[m]})")
    assert late == [], f"expected imports of earlier notebooks only, got {late}"


def test_numbers_are_unique():
    nums = [nb.name[:2] for nb in _numbered()]
    assert len(nums) == len(set(nums)), f"expected one notebook per number, got duplicates {sorted({n for n in nums if nums.count(n) > 1})}"


def test_modules_are_short():
    long = {p.name: n for p in (ROOT / "interp_nbs").glob("*.py") if not p.name.startswith("_")
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}, f"expected every module within {MAX_LINES} lines, got {long}"


def _digest(lib: Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(lib.glob("*.py"))}


def test_export_twice_changes_nothing(tmp_path):
    """`nbdev_export` in a copy of the tree writes the committed modules, and a second run writes them again
    byte for byte (a module exported by name would grow on every run)."""
    for f in ("settings.ini", "setup.py"):
        shutil.copy(ROOT / f, tmp_path / f)
    shutil.copytree(NBS, tmp_path / "nbs", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    shutil.copytree(ROOT / "interp_nbs", tmp_path / "interp_nbs", ignore=shutil.ignore_patterns("models", "data", "__pycache__"))
    exe = Path(sys.executable).parent / "nbdev_export"
    runs = []
    for _ in range(2):
        out = subprocess.run([str(exe)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, f"expected nbdev_export to succeed, got {out.returncode}: {out.stderr[-1000:]}"
        runs.append(_digest(tmp_path / "interp_nbs"))
    changed = sorted(k for k in runs[0] if runs[0][k] != runs[1].get(k))
    assert changed == [], f"expected a second export to change nothing, got changes in {changed}"
    committed = _digest(ROOT / "interp_nbs")
    stale = sorted(k for k in committed if committed[k] != runs[0].get(k))
    assert stale == [], f"expected the committed modules to equal a fresh export, got differences in {stale}: run make export"
