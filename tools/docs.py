"""Execute the notebooks and render the documentation site, with or without Quarto.

    python tools/docs.py execute --src nbs --out _build/nbs     # run every notebook, save with outputs
    python tools/docs.py render  --src _build/nbs --out _docs   # nbdev processing + HTML pages + sidebar

`render` uses Quarto through `nbdev_docs` when `quarto` is on PATH (the real docs path). Without it (CI,
machines where Quarto cannot be installed) it runs nbdev's own notebook processing (`proc_nbs`: directives,
`show_doc`, hidden cells) and renders each processed notebook with nbconvert, adding a sidebar in notebook
order, then checks that every page rendered.
"""
import argparse, html, json, os, re, shutil, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def notebooks(src: Path):
    return sorted(p for p in src.glob("*.ipynb") if not p.name.startswith(("_", ".")))


def directives(source: str) -> dict:
    "nbdev directives (`#| key: value` lines at the top of a cell)."
    out = {}
    for line in source.splitlines():
        m = re.match(r"\s*#\s*\|\s*([\w-]+)\s*:?\s*(.*)", line)
        if not m:
            if line.strip(): break
            continue
        out[m.group(1)] = m.group(2).strip()
    return out


def _run_one(nb_path: Path, out: Path, cwd: Path):
    from execnb.nbio import read_nb, write_nb
    from execnb.shell import CaptureShell
    nb = read_nb(nb_path)
    def skip(cell):
        if cell.cell_type != "code": return True
        if "nbdev_export" + "(" in cell.source: return True
        return directives(cell.source).get("eval", "").lower() == "false"
    t0, cur = time.time(), os.getcwd()
    os.chdir(cwd)
    try:
        sh = CaptureShell(nb_path)
        sh.run_all(nb, exc_stop=True, preproc=skip)
    finally: os.chdir(cur)
    write_nb(nb, out / nb_path.name)
    return time.time() - t0


# notebooks whose kernelspec names another environment are executed by that environment's python
ENVS = {"interp-nbs-petals": ROOT / ".venv-petals"}


def execute(src: Path, out: Path, only: str = None):
    "Run every notebook of `src` (cells marked `eval: false` skipped) with its folder as working directory."
    out.mkdir(parents=True, exist_ok=True)
    failed = []
    for p in notebooks(src):
        if only and p.name != only: continue
        env = ENVS.get(json.loads(p.read_text())["metadata"].get("kernelspec", {}).get("name"))
        if env and Path(sys.prefix).resolve() != env.resolve():
            r = subprocess.run([str(env / "bin" / "python"), __file__, "execute", "--src", str(src), "--out", str(out),
                                "--only", p.name])
            if r.returncode: failed.append(p.name)
            continue
        print(f"executing {p.name} ...", flush=True)
        try: print(f"  done in {_run_one(p, out, p.parent.resolve()):.0f} s", flush=True)
        except Exception as e:
            print(f"  FAILED: {type(e).__name__}: {str(e)[-2000:]}", flush=True); failed.append(p.name)
    for f in src.glob("*.yml"): shutil.copy(f, out / f.name)
    if failed: sys.exit(f"notebooks that failed: {', '.join(failed)}")


def title(nb: dict, fallback: str) -> str:
    "The notebook's title: its first `# heading`, or the `title:` of nbdev's front matter."
    for c in nb["cells"]:
        src = "".join(c["source"])
        if c["cell_type"] == "markdown":
            m = re.search(r"^#\s+(.+)$", src, re.M)
            if m: return m.group(1).strip()
        if c["cell_type"] == "raw":
            m = re.search(r"^title:\s*(.+)$", src, re.M)
            if m: return m.group(1).strip().strip('"')
    return fallback


def _front_matter(src: str) -> dict:
    m = re.match(r"^---\s*\n(.*?)\n---", src.strip(), re.S)
    if not m: return {}
    import yaml
    try: return yaml.safe_load(m.group(1)) or {}
    except yaml.YAMLError: return {}


def _sanitize(nb: dict):
    "Make an nbdev-processed notebook plain Jupyter: title header, hidden inputs, no Quarto-only syntax."
    for i, c in enumerate(nb.cells):
        if c.cell_type == "raw" and (fm := _front_matter(c.source)):
            c.cell_type = "markdown"
            c.source = f"# {fm.get('title', '')}\n\n" + (f"> {fm['description']}" if fm.get("description") else "")
        if c.cell_type == "code":
            d = directives(c.source)
            if d.get("echo", "").lower() == "false" or "hide_input" in d:
                c.setdefault("metadata", {}).setdefault("tags", []).append("remove_input")
            c.source = "\n".join(l for l in c.source.splitlines() if not re.match(r"\s*#\s*\|", l))
            for o in c.get("outputs", []):
                md = o.get("data", {}).get("text/markdown")
                if md: o["data"]["text/markdown"] = re.sub(r"\{target=.*?\}", "", md if isinstance(md, str) else "".join(md))
        c.setdefault("id", f"cell-{i}")
        c.pop("has_sd", None)
        c.get("metadata", {}).pop("execution", None)
        if c.cell_type != "code":
            c.pop("outputs", None); c.pop("execution_count", None)
    return nb


CSS = """
<style>
 body { margin-left: 17rem !important; }
 nav.site-sidebar { position: fixed; top: 0; left: 0; bottom: 0; width: 15rem; overflow-y: auto;
   padding: 1.2rem 1rem; background: #f6f7f9; border-right: 1px solid #dde; font-family: sans-serif; font-size: 0.92rem; }
 nav.site-sidebar h2 { font-size: 1.05rem; margin: 0 0 0.8rem 0; }
 nav.site-sidebar a { display: block; padding: 0.25rem 0.4rem; color: #234; text-decoration: none; border-radius: 4px; }
 nav.site-sidebar a.active { background: #dbe6f5; font-weight: 600; }
</style>
"""


def render_offline(src: Path, out: Path):
    "nbdev processing + nbconvert HTML with a sidebar; returns the rendered pages."
    import nbformat
    from nbconvert import HTMLExporter
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    from nbdev.serve import proc_nbs
    proc = proc_nbs(path=str(src), n_workers=0, force=True)   # -> _proc/, as Quarto would get it
    pages = [p for p in notebooks(proc)]
    if not pages: sys.exit(f"no notebooks processed from {src}")
    docs = {}
    for p in pages:
        nb = nbformat.reads(p.read_text(), as_version=4)     # joins list-valued sources into strings
        docs[p] = (title(nb, p.stem), _sanitize(nb))
    order = sorted(pages, key=lambda p: (p.stem != "index", p.stem))
    out.mkdir(parents=True, exist_ok=True)
    from traitlets.config import Config
    exporter = HTMLExporter(template_name="lab",
                            config=Config({"TagRemovePreprocessor": {"enabled": True, "remove_input_tags": ["remove_input"]}}))
    written = []
    for p in order:
        t, nb = docs[p]
        nbformat.validate(nb)
        body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": t}})
        links = "".join(f'<a href="{q.stem}.html" class="{"active" if q == p else ""}">{html.escape(docs[q][0])}</a>'
                        for q in order)
        nav = f'<nav class="site-sidebar"><h2>interp-nbs</h2>{links}</nav>'
        body = body.replace("</head>", CSS + "</head>", 1)
        body = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + nav, body, count=1)
        dest = out / f"{p.stem}.html"
        dest.write_text(body)
        errors = sum(o.get("output_type") == "error" for c in nb.cells for o in c.get("outputs", []))
        written.append((dest, t, errors))
    return written


def check(pages):
    "Every page exists, carries its title and sidebar, and shows no error output."
    bad = []
    for dest, t, errors in pages:
        s = dest.read_text()
        if html.escape(t) not in s and t not in s: bad.append(f"{dest.name}: title missing")
        if 'class="site-sidebar"' not in s: bad.append(f"{dest.name}: sidebar missing")
        if errors: bad.append(f"{dest.name}: {errors} error output(s)")   # a cell raised (printed tracebacks are fine)
    if bad: sys.exit("pages that did not render:\n  " + "\n  ".join(bad))
    print(f"rendered {len(pages)} pages: " + ", ".join(d.name for d, *_ in pages))


def render(src: Path, out: Path):
    if shutil.which("quarto"):
        # the real docs path: nbdev + Quarto, into settings.ini's doc_path
        subprocess.run([str(Path(sys.executable).parent / "nbdev_docs"), "--path", str(src)], check=True, cwd=ROOT)
        built = ROOT / "_docs"
        if out.resolve() != built.resolve():
            shutil.rmtree(out, ignore_errors=True); shutil.copytree(built, out)
        print(f"rendered with Quarto into {out}")
        return
    check(render_offline(src.resolve(), out.resolve()))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("action", choices=["execute", "render"])
    ap.add_argument("--src", default="nbs", type=Path)
    ap.add_argument("--out", default="_docs", type=Path)
    ap.add_argument("--only", help="execute only this notebook (file name)")
    a = ap.parse_args()
    execute(a.src, a.out, a.only) if a.action == "execute" else render(a.src, a.out)
