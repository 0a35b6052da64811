"""Render the documentation site with or without Quarto, and check the site and the notebooks behind it.

    python tools/docs.py render  --src nbs --out _docs          # nbdev processing + HTML pages of the notebooks as they are
    python tools/docs.py check   --src nbs --out _docs          # links, anchors, entries, index, prompts, browser;
                                                                # stale outputs and prose numbers no output prints

Executing the notebooks is `tools/run.py` (`make tutorials` executes into _build/nbs and renders from there;
`make test` renders nbs/ as committed, with their outputs).

`render` uses Quarto through `nbdev_docs` when `quarto` is on PATH (the real docs path). Without it (CI,
machines where Quarto cannot be installed) it runs nbdev's own notebook processing (`proc_nbs`: directives,
`show_doc`, hidden cells) and renders each processed notebook with nbconvert into a static site: one page per
notebook named after it (`07_hooks.html`), `show_doc` blocks as API entries, a table of contents per page, a
sidebar and a search box over page titles and exported names, cross-references from backticked exported
names to their entries, source links relative to the repository, figure alt text from `#| fig-alt:`, and a
home page listing every notebook with its key result (the output of its cell marked `#| key-result`, when
the notebook was executed). Everything is derived from the notebooks themselves: no list of pages or names.

An API entry shows its symbol as the source writes it: defaults as written, types by their short names (`Module`),
and a docstring's examples as code blocks, an example being lines indented beyond the docstring's own text
(4+ spaces more than the def's body, as in `interp_nbs`), a run of `>>>` lines up to a blank line, or a ``` fence.
"""
import argparse, ast, hashlib, html, inspect, json, linecache, os, re, shutil, subprocess, sys, tempfile, textwrap, time
from pathlib import Path
from urllib.parse import urlparse, unquote

ROOT = Path(__file__).resolve().parent.parent
LIB = "interp_nbs"
_PARSER = "lxml" if __import__("importlib.util").util.find_spec("lxml") else "html.parser"


def notebooks(src: Path):
    return sorted(p for p in Path(src).glob("*.ipynb") if not p.name.startswith(("_", ".")))


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


def _src(cell) -> str:
    s = cell["source"]
    return s if isinstance(s, str) else "".join(s)


# ------------------------------------------------------------------------------------ what the notebooks say
def title(nb: dict, fallback: str) -> str:
    "The notebook's title: its first `# heading`, or the `title:` of nbdev's front matter."
    for c in nb["cells"]:
        src = _src(c)
        if c["cell_type"] == "markdown":
            m = re.search(r"^#\s+(.+)$", src, re.M)
            if m: return m.group(1).strip()
        if c["cell_type"] == "raw":
            m = re.search(r"^title:\s*(.+)$", src, re.M)
            if m: return m.group(1).strip().strip('"')
    return fallback


def summary(nb: dict) -> str:
    "The notebook's one-line summary: the `> ...` line under its title (or the front matter's description)."
    for c in nb["cells"]:
        src = _src(c)
        if c["cell_type"] == "markdown" and re.search(r"^#\s+", src, re.M):
            m = re.search(r"^>\s*(.+(?:\n>?\s*\S.*)*)", src, re.M)
            return re.sub(r"\s*\n>?\s*", " ", m.group(1)).strip() if m else ""
        if c["cell_type"] == "raw" and (fm := _front_matter(src)): return str(fm.get("description", "")).strip()
    return ""


def _front_matter(src: str) -> dict:
    m = re.match(r"^---\s*\n(.*?)\n---", src.strip(), re.S)
    if not m: return {}
    import yaml
    try: return yaml.safe_load(m.group(1)) or {}
    except yaml.YAMLError: return {}


def exported_names(nb: dict) -> dict:
    """Public top-level functions and classes of the notebook's exported cells, {name: module}
    (the names nbdev gives a `show_doc` entry: `#| export` / `#| exports` cells, `#| export othermod` too)."""
    default, out = None, {}
    for c in nb["cells"]:
        if c["cell_type"] != "code": continue
        d = directives(_src(c))
        if "default_exp" in d: default = d["default_exp"].split()[0]
    for c in nb["cells"]:
        if c["cell_type"] != "code": continue
        src = _src(c); d = directives(src)
        key = next((k for k in ("export", "exports") if k in d), None)
        if key is None: continue
        mod = d[key].split()[0] if d[key] else default
        body = "\n".join(l for l in src.splitlines() if not l.lstrip().startswith(("%", "!")))
        try: tree = ast.parse(body)
        except SyntaxError: continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
                out[node.name] = mod
    return out


def modidx_names(root: Path = ROOT) -> dict:
    "Public top-level names of `_modidx.py` (nbdev's index of the package), {name: module}; {} when absent."
    p = root / LIB / "_modidx.py"
    if not p.exists(): return {}
    d = ast.literal_eval(p.read_text().split("d = ", 1)[1])
    out = {}
    for mod, syms in d["syms"].items():
        for k in syms:
            name = k[len(mod) + 1:]
            if "." not in name and not name.startswith("_"): out.setdefault(name, []).append(mod.split(".", 1)[1])
    return out


def key_result(nb: dict):
    """The output of the cell marked `#| key-result[: caption]`: ("image", png-base64, caption),
    ("text", text, caption) or None (no marked cell, or the notebook was not executed)."""
    for c in nb["cells"]:
        if c["cell_type"] != "code": continue
        d = directives(_src(c))
        if "key-result" not in d and "key-result" not in c.get("metadata", {}).get("tags", []): continue
        cap = d.get("key-result", "")
        outs = c.get("outputs", [])
        for o in reversed(outs):
            png = o.get("data", {}).get("image/png")
            if png: return ("image", png if isinstance(png, str) else "".join(png), cap)
        for o in reversed(outs):
            t = o.get("text") if o.get("output_type") == "stream" else o.get("data", {}).get("text/plain")
            if t:
                t = (t if isinstance(t, str) else "".join(t)).strip()
                if t: return ("text", t[-400:], cap)
        return None
    return None


# ------------------------------------------------------------------------------------------------ rendering
def _md2html(md: str) -> str:
    from nbconvert.filters.markdown import markdown2html
    return markdown2html(md)


_re_backticks = re.compile(r"(?<![\[\w])`([A-Za-z_][\w.]*?)(?:\(\))?`(?!\]\()")


class Symbols:
    "Exported names -> (page, anchor) of their entries; a page prefers its own entries, then what it imports."
    def __init__(self):
        self.by_name = {}      # name -> [(page_stem, anchor, module)] in notebook order
    def add(self, name, page, anchor, module):
        self.by_name.setdefault(name, []).append((page, anchor, module))
    def resolve(self, name, page, imports=()):
        if "." in name:
            pre, post = name.rsplit(".", 1)
            pre = pre.split(".")[-1]                          # `interp_nbs.hooks.capture`, `hooks.capture`
            for pg, a, m in self.by_name.get(post, []):
                if m == pre: return pg, a
            c = self.by_name.get(name)                          # `Layout.n_layers` documented as a method
            return (c[0][0], c[0][1]) if c else None
        c = self.by_name.get(name)
        if not c: return None
        for pg, a, m in c:
            if pg == page: return pg, a
        for pg, a, m in c:
            if (m, name) in imports: return pg, a
        return c[0][0], c[0][1]                                 # lowest layer first (notebook order)
    def linkify(self, md, page, imports=()):
        "Link backticked exported names in markdown (not inside code fences or existing links)."
        lines, fence = md.splitlines(), False
        def sub(m):
            r = self.resolve(m.group(1), page, imports)
            if r is None: return m.group(0)
            return f"[{m.group(0)}]({r[0]}.html#{r[1]})"
        for i, l in enumerate(lines):
            if l.lstrip().startswith("```"): fence = not fence
            elif not fence and not l.startswith("    "):
                spans = re.split(r"((`{2,}).*?\2)", l)              # leave ``multi-backtick`` code spans alone
                lines[i] = "".join(x if j % 3 == 1 else ("" if j % 3 == 2 else _re_backticks.sub(sub, x))
                                   for j, x in enumerate(spans))
        return "\n".join(lines)


def _imports(nb) -> set:
    "(module, name) pairs a notebook imports from the package: `from interp_nbs.hooks import capture`."
    out = set()
    for c in nb.cells:
        if c.cell_type != "code": continue
        for m in re.finditer(rf"from\s+{LIB}\.(\w+)\s+import\s+\(?([\w\s,]+)\)?", c.source):
            out |= {(m.group(1), n.strip().split(" as ")[0]) for n in m.group(2).split(",") if n.strip()}
    return out


_re_sd = re.compile(r"^\s*(?:---\s*)?(?:\[source\]\((?P<src>[^)]*)\)(?:\{[^}]*\})?\s*)?"
                    r"(?P<h>#{2,5})\s+(?P<name>[^\n]+)\n(?P<rest>.*)$", re.S)


def _source_href(url: str, rel_root: str):
    "A source link relative to the repository (`../interp_nbs/hooks.py#L18`), or None."
    m = re.search(rf"({LIB}/[\w/]+\.py)(#L\d+)?$", url or "")
    return f"{rel_root}/{m.group(1)}{m.group(2) or ''}" if m and (ROOT / m.group(1)).exists() else None


def _api_entry(md: str, page, syms, imports, rel_root, anchors=None):
    "A `show_doc` markdown block -> (anchor, name, HTML of an API entry), or None if it is not one."
    m = _re_sd.match(md)
    if not m: return None
    name = re.sub(r"[`\\]", "", m.group("name")).strip()
    anchor = (anchors or {}).get(name, name.lower())
    if syms is None: return anchor, name, None                     # names only (first pass)
    rest = m.group("rest")
    sig = ""
    sm = re.match(r"\s*>\s*(.*?)(?:\n\s*\n|$)(.*)", rest, re.S)
    if sm: sig, rest = re.sub(r"\s+", " ", sm.group(1).replace("\n>", " ")).strip(), sm.group(2)
    rest = re.sub(r"\{target=[^}]*\}", "", rest)
    body = _md2html(syms.linkify(rest, page, imports))
    href = _source_href(m.group("src"), rel_root)
    src = f'<a class="api-source" href="{html.escape(href)}">source</a>' if href else ""
    kind = "api-method" if "." in name else "api-entry"
    return anchor, name, (f'<section class="api {kind}" id="{html.escape(anchor)}">'
                          f'<div class="api-head"><code class="api-name">{html.escape(name)}</code>{src}</div>'
                          + (f'<pre class="api-sig">{html.escape(sig)}</pre>' if sig else "")
                          + f'<div class="api-doc">{body}</div></section>')


def _alt_text(d: dict, heading: str, page_title: str, n: int) -> str:
    return d.get("fig-alt") or d.get("fig-cap") or f"Figure {n} of “{page_title}”" + (f", section “{heading}”" if heading else "")


def _to_html_output(o, tag: str):
    o["output_type"] = "display_data"; o.pop("execution_count", None)
    o["data"] = {"text/html": tag}; o["metadata"] = {}


def anchors_for(names) -> dict:
    "Entry anchors of one page: the name in lower case (nbdev's), the exact name where two differ only in case."
    low = {}
    for n in names: low.setdefault(n.lower(), []).append(n)
    return {n: (n if len(low[n.lower()]) > 1 and n != n.lower() else n.lower()) for n in names}


def _sanitize(nb, page, page_title, syms, rel_root, entries=None, anchors=None):
    """Make an nbdev-processed notebook plain Jupyter: title header, hidden inputs, no Quarto-only syntax,
    `show_doc` blocks as API entries, figures with alt text, widget views replaced by their static output."""
    imports, heading, nfig = _imports(nb), "", 0
    nb.metadata.pop("widgets", None)     # widget state: the page would load a widget manager from a CDN
    for i, c in enumerate(nb.cells):
        if c.cell_type == "raw" and (fm := _front_matter(c.source)):
            c.cell_type = "markdown"
            c.source = f"# {fm.get('title', '')}\n\n" + (f"> {fm['description']}" if fm.get("description") else "")
        if c.cell_type == "markdown":
            c.source = re.sub(r"<!-- WARNING: THIS FILE WAS AUTOGENERATED!.*?-->", "", c.source)
            if syms is not None: c.source = syms.linkify(c.source, page, imports)
            h = re.findall(r"^#{1,3}\s+(.+)$", c.source, re.M)
            if h: heading = h[-1].strip()
        if c.cell_type == "code":
            d = directives(c.source)
            if d.get("echo", "").lower() == "false" or "hide_input" in d:
                c.setdefault("metadata", {}).setdefault("tags", []).append("remove_input")
            c.source = "\n".join(l for l in c.source.splitlines() if not re.match(r"\s*#\s*\|", l))
            outs, keep = c.get("outputs", []), []
            for o in outs:
                data = o.get("data", {})
                md = data.get("text/markdown")
                if md is not None:
                    md = md if isinstance(md, str) else "".join(md)
                    e = _api_entry(md, page, syms, imports, rel_root, anchors)
                    if e:
                        if entries is not None: entries.append(e[:2])
                        else: _to_html_output(o, e[2])
                        keep.append(o); continue
                    data["text/markdown"] = re.sub(r"\{target=[^}]*\}", "", md)
                png = data.get("image/png")
                if png:
                    nfig += 1
                    png = png if isinstance(png, str) else "".join(png)
                    alt = html.escape(_alt_text(d, heading, page_title, nfig), quote=True)
                    _to_html_output(o, f'<img class="figure" alt="{alt}" src="data:image/png;base64,{png.strip()}">')
                if "application/vnd.jupyter.widget-view+json" in data:
                    # no widget state is saved: the static site shows the cell's other outputs (its figure)
                    data.pop("application/vnd.jupyter.widget-view+json")
                    if not any("image/png" in q.get("data", {}) or "text/html" in q.get("data", {})
                               for q in outs if q is not o):
                        _to_html_output(o, '<p class="widget-note">An interactive widget: run the notebook in '
                                           'JupyterLab (<code>make lab</code>) to use it.</p>')
                    else: continue
                keep.append(o)
            c.outputs = keep
        c.setdefault("id", f"cell-{i}")
        c.pop("has_sd", None)
        c.get("metadata", {}).pop("execution", None)
        if c.cell_type != "code":
            c.pop("outputs", None); c.pop("execution_count", None)
    return nb


def _inline_md(s: str) -> str:
    "One line of markdown as inline HTML (backticks as code)."
    return re.sub(r"^<p>(.*)</p>\s*$", r"\1", _md2html(s).strip(), flags=re.S)


def _index_table(pages, results, syms=None) -> str:
    "Markdown-free HTML table of every notebook: link, summary, key result (when the notebook was executed)."
    rows = []
    for stem, (t, s) in pages.items():
        if stem == "index": continue
        kr = results.get(stem)
        cell = ""
        if kr and kr[0] == "image":
            cell = (f'<a href="{stem}.html"><img class="key-result" alt="{html.escape(kr[2] or "Key result of " + t, quote=True)}" '
                    f'src="data:image/png;base64,{kr[1].strip()}"></a>')
        elif kr: cell = f'<pre class="key-result">{html.escape(kr[1])}</pre>'
        if kr and kr[2]: cell += f'<div class="key-caption">{html.escape(kr[2])}</div>'
        rows.append(f'<tr><td><a href="{stem}.html">{html.escape(stem.split("_", 1)[0])} {html.escape(t)}</a></td>'
                    f'<td>{_inline_md(syms.linkify(s, "index") if syms else s)}</td>' + (f'<td>{cell}</td>' if results else "") + "</tr>")
    head = "<tr><th>notebook</th><th>what it builds</th>" + ("<th>key result</th>" if results else "") + "</tr>"
    return f'<table id="notebook-table" class="notebook-table"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


INDEX_MARK = "<!-- notebook-table -->"

CSS = """
<style>
 body { margin: 0 16rem 0 16rem !important; max-width: 62rem; }
 nav.site-sidebar { position: fixed; top: 0; left: 0; bottom: 0; width: 14rem; overflow-y: auto; padding: 1rem;
   background: #f6f7f9; border-right: 1px solid #dde; font-family: sans-serif; font-size: 0.9rem; z-index: 10; }
 nav.site-sidebar h2 { font-size: 1.05rem; margin: 0 0 0.6rem 0; } nav.site-sidebar h2 a { padding: 0; }
 nav.site-sidebar a { display: block; padding: 0.22rem 0.4rem; color: #234; text-decoration: none; border-radius: 4px; }
 nav.site-sidebar a.active { background: #dbe6f5; font-weight: 600; }
 #site-search { width: 100%; box-sizing: border-box; padding: 0.3rem; margin-bottom: 0.4rem; }
 #search-results a { font-size: 0.85rem; } #search-results small { color: #667; }
 nav.site-toc { position: fixed; top: 0; right: 0; bottom: 0; width: 14rem; overflow-y: auto; padding: 1rem;
   border-left: 1px solid #dde; font-family: sans-serif; font-size: 0.82rem; background: #fff; z-index: 10; }
 nav.site-toc h2 { font-size: 0.95rem; margin: 0 0 0.5rem 0; }
 nav.site-toc a { display: block; color: #345; text-decoration: none; padding: 0.12rem 0; }
 nav.site-toc a.toc-3, nav.site-toc a.toc-api { padding-left: 0.9rem; } nav.site-toc a.toc-api { font-family: monospace; }
 section.api { border: 1px solid #cfd8e3; border-left: 4px solid #3b6db3; border-radius: 6px; background: #f8fafd;
   margin: 1.2rem 0; padding: 0.6rem 0.9rem; }
 section.api-method { border-left-color: #7a93b8; margin-left: 1.5rem; }
 .api-head { display: flex; justify-content: space-between; align-items: baseline; }
 .api-name { font-size: 1.15rem; font-weight: 700; color: #1d3d6b; background: none; }
 .api-source { font-size: 0.8rem; } pre.api-sig { background: #eef2f8; padding: 0.4rem 0.6rem; white-space: pre-wrap; }
 table.notebook-table td, section.api td, section.api th { vertical-align: top; text-align: left !important; } img.key-result { max-width: 22rem; }
 pre.key-result { font-size: 0.8rem; white-space: pre-wrap; max-width: 22rem; }
 a code { color: #1a5fb4; text-decoration: underline dotted; }
 .jp-InputPrompt, .jp-OutputPrompt { display: none !important; }
</style>
"""

SEARCH_JS = """
(function () {
  var box = document.getElementById('site-search'), res = document.getElementById('search-results');
  if (!box || !res || !window.SITE_INDEX) return;
  box.addEventListener('input', function () {
    var q = box.value.trim().toLowerCase(); res.innerHTML = '';
    if (!q) return;
    var hits = window.SITE_INDEX.filter(function (e) { return e.t.toLowerCase().indexOf(q) >= 0; }).slice(0, 20);
    hits.forEach(function (e) {
      var a = document.createElement('a'); a.href = e.u; a.textContent = e.t;
      var s = document.createElement('small'); s.textContent = ' ' + e.p; a.appendChild(s); res.appendChild(a);
    });
    if (!hits.length) res.textContent = 'no match';
  });
})();
"""


def _postprocess(body: str, stem: str, order, titles, out: Path, toc_title="On this page") -> str:
    "Sidebar, search box, table of contents; no remote scripts (the site works offline)."
    from bs4 import BeautifulSoup
    # nbconvert's ~300 KB of JupyterLab CSS, once for the site instead of in every page (cut before parsing)
    big = [m for m in re.finditer(r"<style[^>]*>(.*?)</style>", body, re.S) if len(m.group(1)) > 20000]
    if big:
        css = "\n".join(m.group(1) for m in big)
        name = f"jupyter-{hashlib.sha1(css.encode()).hexdigest()[:8]}.css"
        if not (out / name).exists(): (out / name).write_text(css)
        for m in reversed(big[1:]): body = body[:m.start()] + body[m.end():]
        body = body[:big[0].start()] + f'<link rel="stylesheet" href="{name}">' + body[big[0].end():]
    soup = BeautifulSoup(body, _PARSER)
    for s in soup.find_all(["script", "link"]):
        u = s.get("src") or (s.get("href") if s.name == "link" else None)
        if u and urlparse(u).scheme in ("http", "https"): s.decompose()
    for s in soup.find_all("script", attrs={"type": "text/x-mathjax-config"}): s.decompose()
    # unique ids: a heading named like an API entry, or two headings alike, get a suffix
    api_ids = {s["id"] for s in soup.select("section.api[id]")}
    seen = set()
    for h in soup.select("h1[id], h2[id], h3[id], h4[id], h5[id], h6[id]"):
        i, k = h["id"], 1
        new = i
        while new in api_ids or new in seen: k += 1; new = f"{i}-{k}"
        if new != i:
            h["id"] = new
            for a in h.select(f'a.anchor-link[href="#{i}"]'): a["href"] = f"#{new}"
        seen.add(new)
    for a in soup.find_all("a", attrs={"target": "_blank"}): del a["target"]
    toc = []
    for h in soup.select("h2[id], h3[id], section.api[id]"):
        if h.name == "section":
            if "api-method" in h.get("class", []): continue
            toc.append(("api", h["id"], h.select_one(".api-name").get_text()))
        else: toc.append((h.name[1], h["id"], h.get_text().replace("¶", "").strip()))
    links = "".join(f'<a href="{q}.html" class="{"active" if q == stem else ""}">{html.escape(titles[q])}</a>'
                    for q in order)
    nav = BeautifulSoup(
        f'<nav class="site-sidebar"><h2><a href="index.html">{html.escape(titles.get("index", LIB))}</a></h2>'
        f'<input id="site-search" type="search" placeholder="Search pages and helpers" aria-label="Search">'
        f'<div id="search-results"></div>{links}</nav>', "html.parser")
    tocs = "".join(f'<a class="toc-{lvl}" href="#{html.escape(i, quote=True)}">{html.escape(t)}</a>' for lvl, i, t in toc)
    tocn = BeautifulSoup(f'<nav class="site-toc" aria-label="Table of contents"><h2>{toc_title}</h2>{tocs}</nav>',
                         "html.parser")
    soup.body.insert(0, tocn); soup.body.insert(0, nav)
    soup.head.append(BeautifulSoup(CSS, "html.parser"))
    for src in ("search-index.js", "search.js"):
        t = soup.new_tag("script", src=src); soup.body.append(t)
    return str(soup)


def _is_entry(o) -> bool:
    "Whether an output is a `show_doc` entry (markdown that `_api_entry` reads as one)."
    md = o.get("data", {}).get("text/markdown")
    return md is not None and _re_sd.match(md if isinstance(md, str) else "".join(md)) is not None


# ------------------------------------------------------------------------------- API entries as the source writes them
def _source_lines(obj) -> list:
    "Source lines of `obj`'s def or class; a class defined in a notebook cell is looked up in the cells IPython ran."
    try: return inspect.getsourcelines(obj)[0]
    except (OSError, TypeError): return _cell_lines(obj) if inspect.isclass(obj) else []


def _cell_lines(cls) -> list:
    "Source lines of a class a notebook cell defines: in the latest cell IPython cached, by its name and docstring."
    doc = inspect.cleandoc(cls.__doc__ or "")
    for f in reversed([f for f, e in list(linecache.cache.items()) if len(e) > 1 and e[1] is None]):   # cells, no file
        lines = linecache.cache[f][2]
        for i, l in enumerate(lines):
            if not re.match(rf"\s*class\s+{cls.__name__}\b", l): continue
            block = inspect.getblock(lines[i:])
            node, _ = _parse(block)
            if node is not None and (ast.get_docstring(node) or "") == doc: return block
    return []


def _parse(lines):
    "A def or class statement's lines as (ast node, dedented source), or (None, '')."
    src = textwrap.dedent("".join(lines))
    try: node = ast.parse(src).body[0]
    except (SyntaxError, IndexError): return None, ""
    return (node, src) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) else (None, "")


def _def(obj):
    "`obj`'s def or class statement as (ast node, its dedented source), or (None, '') without source."
    return _parse(_source_lines(obj))


def _text(node, src) -> str:
    "An expression's source text (unparsed when it spans lines, which may hold comments)."
    s = ast.get_source_segment(src, node) or ast.unparse(node)
    return s if "\n" not in s else ast.unparse(node)


def _args(fn, src) -> dict:
    "{parameter: (annotation, default)} of a def as written ('return': its return annotation); None where absent."
    a = fn.args
    pos = a.posonlyargs + a.args
    pairs = [*zip(pos, [None] * (len(pos) - len(a.defaults)) + a.defaults), *zip(a.kwonlyargs, a.kw_defaults),
             (a.vararg, None), (a.kwarg, None)]
    out = {x.arg: (x.annotation and _text(x.annotation, src), d and _text(d, src)) for x, d in pairs if x}
    return {**out, "return": (fn.returns and _text(fn.returns, src), None)}


def _written(sym) -> dict:
    "{parameter: (annotation, default)} as the source of `sym` writes them (a class: its `__init__`, else its fields)."
    node, src = _def(sym)
    if isinstance(node, ast.ClassDef):
        init = next((n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"), None)
        if init is None and _def(getattr(sym, "__init__", None))[0] is None:           # a dataclass: its fields
            return {t.target.id: (_text(t.annotation, src), t.value and _text(t.value, src))
                    for t in node.body if isinstance(t, ast.AnnAssign) and isinstance(t.target, ast.Name)}
        node, src = (init, src) if init else _def(sym.__init__)
    return _args(node, src) if node else {}


def _short_type(text: str) -> str:
    "A type by its short name: `torch.nn.modules.module.Module` -> `Module`, `Optional[torch.Tensor]` -> `Optional[Tensor]`."
    return re.sub(r"\b(?:[A-Za-z_]\w*\.)+(?=[A-Za-z_])", "", text.strip("'\""))


class _Written(str):
    "Source text that nbdev prints as it is (nbdev prints a default by its repr, a type by `formatannotation`)."
    def __repr__(self): return str(self)


def _param(p, written):
    "A signature parameter with its type's short name and its default as the source writes it."
    ann, default = written or (None, None)
    if p.annotation is not p.empty:
        a = ann or (p.annotation if isinstance(p.annotation, str) else inspect.formatannotation(p.annotation))
        p = p.replace(annotation=_Written(_short_type(a)))
    return p.replace(default=_Written(default)) if default is not None and p.default is not p.empty else p


def _table_as_written(dm, written):
    "The docments table (nbdev's `DocmentTbl`) with defaults as written and types by their short names."
    for name, d in getattr(dm, "dm", {}).items():
        ann, default = written.get(name, (None, None))
        empty = inspect.Parameter.empty
        if ann and d.get("anno", empty) is not empty: d["anno"] = _Written(_short_type(ann))
        if default is not None and d.get("default", empty) is not empty: d["default"] = _Written(default)


def _doc_lines(sym):
    "`sym`'s docstring lines less its def's body indentation (example lines keep their extra indent); None without source."
    node, src = _def(sym)
    raw = ast.get_docstring(node, clean=False) if node else None
    if not raw or re.search(r"^\s*-{3,}\s*$", raw, re.M): return None    # numpydoc sections: nbdev's text
    line = src.splitlines()[node.body[0].lineno - 1]
    margin = len(line) - len(line.lstrip())
    first, *rest = raw.expandtabs().splitlines()
    return [first.strip()] + [l[margin:] if not l[:margin].strip() else l.lstrip() for l in rest]


def _indented(line: str) -> bool:
    "Whether a (dedented) docstring line is an example line: indented 4+ spaces."
    return line.startswith("    ") and bool(line.strip())


def _code_end(lines, i) -> int:
    "End of the code block starting at line `i` (a ``` fence, a `>>>` run, indented lines); `i` when none starts there."
    s, n = lines[i].lstrip(), len(lines)
    if s.startswith("```"): return next((k + 1 for k in range(i + 1, n) if lines[k].lstrip().startswith("```")), n)
    if s.startswith(">>>"): return next((k for k in range(i, n) if not lines[k].strip()), n)
    if not _indented(lines[i]): return i
    last = i
    for k in range(i, n):
        if _indented(lines[k]): last = k
        elif lines[k].strip(): break
    return last + 1


def _code_block(lines) -> list:
    "Code lines as a plain ``` fence (a source fence's own fence lines and language dropped), dedented."
    if lines[0].lstrip().startswith("```"):
        lines = lines[1:-1] if len(lines) > 1 and lines[-1].lstrip().startswith("```") else lines[1:]
    return ["", "```", *textwrap.dedent("\n".join(lines)).splitlines(), "```", ""]


def _doc_md(lines) -> str:
    "Docstring lines as markdown: examples (``` fences, `>>>` runs, indented lines) as code blocks, the rest as prose."
    out, i = [], 0
    while i < len(lines):
        j = _code_end(lines, i)
        if j == i: out.append(lines[i]); i += 1
        else: out += _code_block(lines[i:j]); i = j
    return "\n".join(out).strip()


def _as_written(r):
    "Make a `show_doc` renderer show its symbol as the source writes it: defaults, short types, examples as code."
    try:
        w = _written(r.sym)
        if r.sig: r.sig = r.sig.replace(parameters=[_param(p, w.get(p.name)) for p in r.sig.parameters.values()])
        _table_as_written(r.dm, w)
        lines = _doc_lines(r.sym)
        r.docs = _doc_md(lines if lines is not None else (r.docs or "").splitlines())
    except Exception as e: print(f"  show_doc({r.nm}): kept nbdev's entry ({type(e).__name__}: {e})", flush=True)


def _wrap_sig(s: str) -> str:
    "nbdev's signature lines (`> ...`), broken at spaces only: a default like `\"llama-icl\"` stays whole."
    pad = "> " + " " * 5
    return textwrap.fill(s, width=80, initial_indent=pad, subsequent_indent=pad + " " * (s.find("(") + 1),
                         break_on_hyphens=False, break_long_words=False)


def _patch_show_doc():
    "`show_doc` entries as the source writes them (`_as_written`), each `**kw` comment on its own row (not on Returns)."
    import functools
    from fastcore import docments as D
    D._docments = functools.partial(D._docments, args_kwargs=True)    # fastcore's `docments(full=True)` drops it
    D._wrap_sig = _wrap_sig
    init = D.ShowDocRenderer.__init__
    def __init__(self, *a, **k): init(self, *a, **k); _as_written(self)
    D.ShowDocRenderer.__init__ = __init__


def entry_html(sym, page="page") -> str:
    "The HTML of `sym`'s API entry as the offline site renders it (`show_doc`, patched, then `_api_entry`)."
    _patch_nbdev()
    from nbdev.showdoc import show_doc
    return _api_entry(show_doc(sym)._repr_markdown_(), page, Symbols(), set(), ".")[2]


def _patch_nbdev():
    """Three changes to nbdev's processing for the offline site. (1) No `add_links`: it links to settings.ini's
    doc_host under page names we do not use; we link ourselves. (2) To build `show_doc` entries nbdev runs the
    exported cells and every cell containing an import, whole: a test cell with a nested import then fails
    (its variables are not defined) and a run would replace an executed cell's outputs. We run exported cells
    as nbdev does and, of any other cell, only its top-level import statements, keeping its outputs. (3) Entries
    show their symbol as the source writes it (`_patch_show_doc`)."""
    import ast, warnings
    from nbdev import processors as P
    from execnb.nbio import _dict2obj
    base = P.FilterDefaults.base_procs
    if getattr(base, "_patched", False): return
    _patch_show_doc()
    def procs(self): return [p for p in base(self) if p.__name__ != "add_links"]
    procs._patched = True
    P.FilterDefaults.base_procs = procs
    def call(self, cell):
        if not self.nb.has_docs_ or not hasattr(self, "k"): return
        fm = getattr(self.nb, "frontmatter_", {})
        if P.str2bool(fm.get("skip_showdoc", False)): return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run = P._do_eval(cell)
        if run:
            trees = cell.parsed_() or []
            def needed(t):                                           # an import or a show_doc call
                return isinstance(t, (ast.Import, ast.ImportFrom)) or (
                    isinstance(t, ast.Expr) and isinstance(t.value, ast.Call) and getattr(t.value.func, "id", "") == "show_doc")
            if cell.directives_.keys() & {"export", "exports", "exporti", "exec_doc"}: self.k.cell(cell)
            else:                                 # only imports and show_doc calls, each alone; the cell's outputs stay
                outs = []
                for t in trees:
                    if not needed(t): continue
                    o = self.k.run(ast.unparse(t))
                    if isinstance(self.k.exc, ImportError) and not isinstance(t, ast.Expr):
                        # a package of another environment (17_petals's hivemind): show_doc entries do not need it
                        print(f"  {fm.get('title', '')}: skipped `{ast.unparse(t)[:80]}` ({self.k.exc})", flush=True)
                        self.k.exc = None; continue
                    if self.k.exc: break
                    outs += o or []
                if outs:                          # the fresh entries replace those the executed cell already shows
                    rest = [] if all(needed(t) for t in trees) else [o for o in cell.get("outputs", []) if not _is_entry(o)]
                    cell.outputs = _dict2obj(outs) + rest
        if self.k.exc:
            raise Exception(f"Error in notebook: {fm.get('title', '')} in cell {cell.idx_}:\n{cell.source}") from self.k.exc
    P.exec_show_docs.__call__ = call


def render_offline(src: Path, out: Path):
    "nbdev processing + nbconvert HTML pages + site chrome; returns the rendered pages [(path, title, errors)]."
    cwd = os.getcwd()
    try: return _render_offline(Path(src).resolve(), Path(out).resolve())
    finally: os.chdir(cwd)


def _render_offline(src: Path, out: Path):
    import nbformat
    from nbconvert import HTMLExporter
    from traitlets.config import Config
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    from nbdev.serve import proc_nbs
    _patch_nbdev()
    proc = proc_nbs(path=str(src), n_workers=0, force=True)   # -> _proc/, as Quarto would get it
    pages = notebooks(proc)
    if not pages: sys.exit(f"no notebooks processed from {src}")
    order = sorted((p.stem for p in pages), key=lambda s: (s != "index", s))
    raw = {p.stem: json.loads(p.read_text()) for p in notebooks(src)}
    info = {s: (title(raw.get(s) or json.loads((proc / f"{s}.ipynb").read_text()), s), summary(raw.get(s, {"cells": []})))
            for s in order}
    def read(p):
        d = json.loads(p.read_text())
        for c in d["cells"]: c.pop("has_sd", None)                 # nbdev's marker, not nbformat
        return nbformat.reads(json.dumps(d), as_version=4)          # (joins list-valued sources into strings)
    nbs = {p.stem: read(p) for p in pages}
    rel_root = os.path.relpath(ROOT, out)
    # pass 1: every API entry of every page -> the symbol table
    syms, anchors = Symbols(), {}
    for s in order:
        entries = []
        _sanitize(nbformat.from_dict(json.loads(json.dumps(nbs[s]))), s, info[s][0], None, rel_root, entries)
        mods = exported_names(raw.get(s, nbs[s]))
        anchors[s] = anchors_for([name for _, name in entries])
        for _, name in entries:
            syms.add(name, s, anchors[s][name], mods.get(name.split(".")[0], s.split("_", 1)[-1]))
    results = {s: kr for s in order if (kr := key_result(raw.get(s, {"cells": []})))}
    out.mkdir(parents=True, exist_ok=True)
    for f in [*out.glob("*.html"), *out.glob("jupyter-*.css"), *out.glob("search*.js")]: f.unlink()   # no stale pages
    exporter = HTMLExporter(template_name="lab", exclude_input_prompt=True, exclude_output_prompt=True,
                            config=Config({"TagRemovePreprocessor": {"enabled": True, "remove_input_tags": ["remove_input"]}}))
    titles = {s: info[s][0] for s in order}
    written = []
    for s in order:
        nb = _sanitize(nbs[s], s, info[s][0], syms, rel_root, anchors=anchors[s])
        if s == "index":
            table = _index_table({q: info[q] for q in order}, results, syms)
            marked = [c for c in nb.cells if c.cell_type == "markdown" and INDEX_MARK in c.source]
            if marked: marked[0].source = marked[0].source.replace(INDEX_MARK, table)
            else: nb.cells.append(nbformat.v4.new_markdown_cell("## Notebooks\n\n" + table))
        nbformat.validate(nb)
        body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": info[s][0]}})
        dest = out / f"{s}.html"
        dest.write_text(_postprocess(body, s, order, titles, out))
        errors = sum(o.get("output_type") == "error" for c in nb.cells for o in c.get("outputs", []))
        written.append((dest, info[s][0], errors))
    index = [{"t": titles[s], "u": f"{s}.html", "p": "page"} for s in order]
    for name, c in sorted(syms.by_name.items()):
        for pg, a, m in c: index.append({"t": name, "u": f"{pg}.html#{a}", "p": f"{m} · {pg}"})
    (out / "search-index.js").write_text("window.SITE_INDEX = " + json.dumps(index) + ";\n")
    (out / "search.js").write_text(SEARCH_JS)
    return written


def check_pages(pages):
    "Every page exists, carries its title and sidebar, and shows no error output."
    bad = []
    for dest, t, errors in pages:
        s = dest.read_text()
        if html.escape(t) not in s and t not in s: bad.append(f"{dest.name}: title missing")
        if 'class="site-sidebar"' not in s: bad.append(f"{dest.name}: sidebar missing")
        if errors: bad.append(f"{dest.name}: {errors} error output(s)")   # a cell raised (printed tracebacks are fine)
    if bad: sys.exit("pages that did not render:\n  " + "\n  ".join(bad))
    print(f"rendered {len(pages)} pages: " + ", ".join(d.name for d, *_ in pages))


check = check_pages   # the name earlier tests use


# ---------------------------------------------------------------------------------------- numbers in the prose
# A number that prose states as a result must be printed by the same notebook. Results are decimals (0.993, 4.8e-6,
# 1.19x), percentages, distances in km, fractions k/n and ranks ("rank 3", "ranks 5, 1, 1"); intervals are two
# decimals. Plain integers (3 epochs, 2 layers, 12,000 steps) are settings and not checked. A setting or a quoted figure
# that looks like a result is written as code (`lr=0.1`, `0.5`) or listed in an HTML comment of its cell,
# `<!-- given: 70% 20% -->` (rendered nowhere), so the check has no false alarms.
_PROSE_NUM = re.compile(r"""
   (?P<frac>(?<![\w./])\d+\s?/\s?\d+(?![\w.]*\d))
 | (?P<num>(?<![\w.])\d{1,3}(?:,\d{3})+\.\d+(?![\d])
          |(?<![\w.])\d*\.\d+(?:e[-+]?\d+)?(?![.\w]*\d)
          |(?<![\w.])\d+e[-+]?\d+(?![\w.]))(?P<unit>\s?%|\s?km\b)?
 | (?<![\w.,])(?P<int>\d{1,3}(?:,\d{3})+|\d+)(?P<iunit>\s?%|\s?km\b)
 | \b(?:ranks?|rank(?:ed|s)?\s(?:at|of))\s(?P<rank>\d+(?:(?:,\s?|\s(?:and|or|to)\s|\s?[-–/]\s?)\d+)*)
""", re.X | re.I)
_OUT_NUM = re.compile(r"(?<![\w.])-?\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?|(?<![\w\d])-?\.\d+")


def _prose_text(md: str):
    "Markdown without code, links' targets, math and comments; and the numbers its `<!-- given: ... -->` lists."
    given = set()
    for m in re.finditer(r"<!--\s*given:(.*?)-->", md, re.S): given |= set(m.group(1).split())
    md = re.sub(r"<!--.*?-->", " ", md, flags=re.S)
    md = re.sub(r"^```.*?^```", " ", md, flags=re.S | re.M)
    md = re.sub(r"(`+)(.+?)\1", " ", md, flags=re.S)
    md = re.sub(r"\]\([^)]*\)", "]", md)
    md = re.sub(r"\$[^$]+\$", " ", md)
    return md, given


def prose_numbers(md: str) -> list:
    "`(text as written, value, half a unit of its last digit, kind)` for every result-like number in a markdown cell."
    md, given = _prose_text(md)
    out = []
    for m in _PROSE_NUM.finditer(md):
        if m.group("frac"):
            t = re.sub(r"\s", "", m.group("frac"))
            if t not in given: out.append((t, None, None, "frac"))
            continue
        if m.group("rank"):
            for t in re.findall(r"\d+", m.group("rank")):
                if t not in given: out.append((t, float(t), 0.5, "rank"))
            continue
        t, unit = (m.group("num"), m.group("unit")) if m.group("num") else (m.group("int"), m.group("iunit"))
        whole = m.group(0).strip()
        if t in given or whole in given or whole.replace(" ", "") in given: continue
        mant = t.replace(",", "").lower().split("e")
        dec = len(mant[0].split(".")[1]) if "." in mant[0] else 0
        exp = int(mant[1]) if len(mant) > 1 else 0
        out.append((whole, float(t.replace(",", "")), 0.5 * 10 ** (exp - dec), "percent" if unit and "%" in unit else "num"))
    return out


def output_text(nb: dict) -> str:
    "Everything a notebook's code cells print or display as text (streams, reprs, markdown, HTML without tags)."
    parts = []
    for c in nb["cells"]:
        for o in c.get("outputs", []) if c["cell_type"] == "code" else []:
            t = o.get("text")
            if t is not None: parts.append(t if isinstance(t, str) else "".join(t))
            for k, v in o.get("data", {}).items():
                if k in ("text/plain", "text/markdown", "text/html"):
                    v = v if isinstance(v, str) else "".join(v)
                    parts.append(re.sub(r"<[^>]+>", " ", v) if k == "text/html" else v)
    return "\n".join(parts)


def prose_problems(nb: dict, stem: str) -> list:
    "Lines naming each markdown cell's result-like numbers that no output of the notebook prints."
    text = output_text(nb)
    vals = []
    for m in _OUT_NUM.finditer(text):
        try: vals.append(abs(float(m.group(0).replace(",", ""))))
        except ValueError: pass
    fracs = {re.sub(r"\s", "", f) for f in re.findall(r"\d+\s?/\s?\d+", text)}
    fracs |= {f"{a}/{b}" for a, b in re.findall(r"(\d+) (?:of|out of) (\d+)", text)}
    import numpy as np
    arr = np.array(sorted(set(vals))) if vals else np.zeros(0)
    def printed(v, half, kind):
        v = abs(v); tol = half * (1 + 1e-9) + 1e-12
        if arr.size and np.any(np.abs(arr - v) <= tol): return True
        return kind == "percent" and arr.size and bool(np.any(np.abs(100 * arr - v) <= tol))
    probs = []
    for i, c in enumerate(nb["cells"]):
        if c["cell_type"] != "markdown": continue
        missing = [t for t, v, half, kind in prose_numbers(_src(c))
                   if not (t in fracs if kind == "frac" else printed(v, half, kind))]
        if missing:
            probs.append(f"{stem}: markdown cell {i} states {', '.join(dict.fromkeys(missing))} but no output of the "
                         "notebook prints it (print it from a cell, or mark a setting as `code` / <!-- given: ... -->)")
    return probs


# ------------------------------------------------------------------------------------------------ the site check
def _settings_hosts(root: Path = ROOT):
    "Hosts settings.ini declares for the project (doc_host, git_url): links there are the project's own."
    from configparser import ConfigParser
    cp = ConfigParser(delimiters=["="]); cp.read(root / "settings.ini")
    cfg = cp["DEFAULT"] if cp.has_section("DEFAULT") or cp.defaults() else {}
    return [u.rstrip("/") for u in (cfg.get("doc_host", ""), cfg.get("git_url", "")) if u.strip()], cfg.get("repo", "interp-nbs")


def invented(url: str, declared, repo: str) -> bool:
    "A URL naming this project on a host settings.ini does not declare (its site or repository made up)."
    p = urlparse(url)
    if p.scheme not in ("http", "https"): return False
    if any(url.startswith(d) for d in declared): return False
    names = {repo.lower(), repo.lower().replace("-", "_"), LIB}
    return any(n in p.netloc.lower() for n in names) or (p.path.strip("/").split("/")[0].lower() in names)


def site_problems(out: Path, expected_pages: dict, exported: dict, declared=(), repo="interp-nbs"):
    """Everything wrong with the rendered site in `out`, as readable lines:
    `expected_pages` {stem: title} (each has a page and a link on the index), `exported` {name: stem} (each
    has an API entry `id=name.lower()` on that page). Local links and anchors must resolve, no link may
    point to an invented host, no page may show an input/output prompt or load a remote script."""
    from bs4 import BeautifulSoup
    out = Path(out)
    probs, soups, nlinks = [], {}, 0
    for p in sorted(out.glob("*.html")): soups[p.name] = BeautifulSoup(p.read_text(), _PARSER)
    ids = {n: {t.get("id") for t in s.find_all(id=True)} | {t.get("name") for t in s.find_all("a", attrs={"name": True})}
           for n, s in soups.items()}
    for stem, t in expected_pages.items():
        if f"{stem}.html" not in soups: probs.append(f"{stem}.html: page missing (notebook {stem}.ipynb, “{t}”)")
    for n, s in soups.items():
        for tag, attr in (("a", "href"), ("img", "src"), ("script", "src"), ("link", "href"), ("iframe", "src")):
            for e in s.find_all(tag):
                u = e.get(attr)
                if not u or u.startswith(("data:", "mailto:", "javascript:")): continue
                nlinks += 1
                pu = urlparse(u)
                if pu.scheme in ("http", "https"):
                    if invented(u, declared, repo): probs.append(f"{n}: link to an invented host: {u}")
                    elif tag in ("script", "link", "img", "iframe"): probs.append(f"{n}: loads a remote resource (offline site): {u}")
                    continue
                if pu.scheme: continue
                target = n if not pu.path else os.path.normpath(os.path.join(os.path.dirname(n) or ".", unquote(pu.path)))
                tp = (out / target)
                if not tp.exists(): probs.append(f"{n}: broken link {u} (no file {target})"); continue
                if pu.fragment and tp.suffix == ".html":
                    tid = ids.get(target) if target in ids else None
                    if tid is None:
                        tid = {t.get("id") for t in BeautifulSoup(tp.read_text(), _PARSER).find_all(id=True)}
                    if pu.fragment not in tid and unquote(pu.fragment) not in tid: probs.append(f"{n}: broken anchor {u} (no id “{unquote(pu.fragment)}” in {target})")
        for e in s.select(".jp-InputPrompt, .jp-OutputPrompt"):
            if e.get_text().strip(): probs.append(f"{n}: input/output prompt shown: {e.get_text().strip()!r}"); break
        else:
            text = s.body.get_text(" ") if s.body else ""
            m = re.search(r"(?<!\w)(In|Out)\s?\[\s*\d*\s*\]:", text)
            if m: probs.append(f"{n}: input/output prompt shown: {m.group(0)!r}")
    for name, stem in sorted(exported.items()):
        page = f"{stem}.html"
        if page not in soups: continue
        e = soups[page].find(id=name.lower()) or soups[page].find(id=name)
        if e is None or "api" not in (e.get("class") or []):
            probs.append(f"{page}: no API entry for exported name `{name}` (expected id “{name.lower()}”)")
    for n, s in soups.items():
        seen = {}
        for t in s.find_all(id=True): seen[t["id"]] = seen.get(t["id"], 0) + 1
        dup = sorted(i for i, k in seen.items() if k > 1)
        if dup: probs.append(f"{n}: duplicate id(s) {', '.join(dup[:8])} (anchors must be unique)")
    if "index.html" in soups:
        idx = soups["index.html"]
        for nav in idx.select("nav"): nav.extract()
        linked = {urlparse(a.get("href", "")).path for a in idx.find_all("a")}
        for stem, t in expected_pages.items():
            if stem != "index" and f"{stem}.html" not in linked:
                probs.append(f"index.html: notebook {stem} (“{t}”) not listed on the home page")
    elif expected_pages: probs.append("index.html: page missing")
    return probs, nlinks


CHROMIUM_FLAGS = ["--headless", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--allow-file-access-from-files",
                  "--enable-logging=stderr", "--v=0"]


def chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser")


def browser_problems(out: Path, exe: str, timeout=60):
    """Load every page in one headless chromium (a harness page with one iframe per page): a console error
    on a page, or a page that renders no text, is a problem."""
    out = Path(out).resolve()
    pages = sorted(p.name for p in out.glob("*.html") if not p.name.startswith("_"))
    harness = out / "_browser_check.html"
    harness.write_text("""<!doctype html><html><body><pre id="report">pending</pre><script>
var pages = %s, done = 0, rep = {};
function finish() { document.getElementById('report').textContent = JSON.stringify(rep); }
pages.forEach(function (p) {
  var f = document.createElement('iframe'); f.style.width = '1200px'; f.style.height = '800px';
  f.onload = function () {
    var n = 0; try { var b = f.contentDocument.body; n = b ? b.innerText.trim().length : 0; } catch (e) { n = -1; }
    rep[p] = n; if (++done == pages.length) finish();
  };
  f.src = p; document.body.appendChild(f);
});
</script></body></html>""" % json.dumps(pages))
    root = os.geteuid() == 0 if hasattr(os, "geteuid") else False
    with tempfile.TemporaryDirectory() as prof:
        cmd = [exe, *CHROMIUM_FLAGS, *(["--no-sandbox"] if root else []), f"--user-data-dir={prof}",
               "--dump-dom", harness.as_uri()]
        try: r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        finally: harness.unlink(missing_ok=True)
    probs = []
    m = re.search(r'<pre id="report">(.*?)</pre>', r.stdout, re.S)
    rep = json.loads(html.unescape(m.group(1))) if m and m.group(1).startswith("{") else None
    if rep is None: return [f"chromium did not load the pages (exit {r.returncode}): {r.stderr[-600:]}"]
    for p in pages:
        n = rep.get(p)
        if n is None: probs.append(f"{p}: did not finish loading in the browser")
        elif n == 0: probs.append(f"{p}: renders empty in the browser")
    for line in r.stderr.splitlines():
        cm = re.search(r"CONSOLE[^\]]*\]\s*(.*)", line)
        if not cm: continue
        msg = cm.group(1)
        src = re.search(r"source:\s*(\S+)", msg)
        page = Path(unquote(urlparse(src.group(1)).path)).name if src else "?"
        if re.search(r"error|uncaught|failed", msg, re.I) or ":ERROR:" in line:
            probs.append(f"{page}: console error in the browser: {msg[:300]}")
    return probs


def expected_from(src: Path):
    "What the site must contain, from the notebooks themselves: pages {stem: title}, entries {name: stem}."
    pages, exported = {}, {}
    for p in notebooks(src):
        nb = json.loads(p.read_text())
        pages[p.stem] = title(nb, p.stem)
        for name in exported_names(nb): exported.setdefault(name, p.stem)
    return pages, exported


def notebook_problems(src: Path) -> list:
    "Outputs older than their cells (`run.stale`) and prose numbers no output prints (`prose_problems`), per notebook."
    sys.path.insert(0, str(Path(__file__).parent))
    import run
    probs = []
    for p in notebooks(src):
        probs += run.stale([p]) + prose_problems(json.loads(p.read_text()), p.stem)
    return probs


def check_site(src: Path, out: Path, browser=True):
    t0 = time.time()
    pages, exported = expected_from(src)
    missing = [f"{n} (in _modidx.py, module {', '.join(ms)})" for n, ms in modidx_names().items() if n not in exported
               and any(ms)]
    declared, repo = _settings_hosts()
    probs, nlinks = site_problems(out, pages, exported, declared, repo)
    probs += notebook_problems(src)
    if missing: print(f"note: {len(missing)} name(s) in _modidx.py that no notebook exports now (stale index? "
                      f"nbdev_export rebuilds it): " + ", ".join(missing[:6]) + (", ..." if len(missing) > 6 else ""))
    exe = chromium() if browser else None
    if browser and exe: probs += browser_problems(out, exe)
    elif browser: print("SKIPPED: no chromium")
    print(f"site check: {len(pages)} pages, {nlinks} links, {len(exported)} exported names, "
          f"{len(probs)} problem(s), {time.time() - t0:.1f} s")
    if probs: sys.exit("site problems:\n  " + "\n  ".join(probs))


def index_markdown(src: Path) -> str:
    "The home page's notebook table as markdown (Quarto path): links to the notebooks, titles and summaries."
    rows = ["| notebook | what it builds |", "|---|---|"]
    for p in notebooks(src):
        if p.stem == "index": continue
        nb = json.loads(p.read_text())
        rows.append(f"| [{p.stem.split('_', 1)[0]} {title(nb, p.stem)}]({p.name}) | {summary(nb).replace('|', '&#124;')} |")
    return "\n".join(rows)


def _quarto_src(src: Path) -> Path:
    "A copy of `src` whose index has its notebook table filled in (nbdev_docs renders that copy)."
    dst = ROOT / "_build" / "quarto-src"
    shutil.rmtree(dst, ignore_errors=True); shutil.copytree(src, dst)
    idx = dst / "index.ipynb"
    if idx.exists():
        nb = json.loads(idx.read_text())
        for c in nb["cells"]:
            if c["cell_type"] == "markdown" and INDEX_MARK in _src(c):
                c["source"] = _src(c).replace(INDEX_MARK, index_markdown(src))
        idx.write_text(json.dumps(nb, indent=1))
    return dst


def render(src: Path, out: Path):
    if shutil.which("quarto"):
        # the real docs path: nbdev + Quarto, into settings.ini's doc_path
        subprocess.run([str(Path(sys.executable).parent / "nbdev_docs"), "--path", str(_quarto_src(src))], check=True, cwd=ROOT)
        built = ROOT / "_docs"
        if out.resolve() != built.resolve():
            shutil.rmtree(out, ignore_errors=True); shutil.copytree(built, out)
        print(f"rendered with Quarto into {out}")
        return
    check_pages(render_offline(src.resolve(), out.resolve()))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("action", choices=["render", "check"])
    ap.add_argument("--src", default="nbs", type=Path)
    ap.add_argument("--out", default="_docs", type=Path)
    ap.add_argument("--no-browser", action="store_true", help="check without loading the pages in chromium")
    a = ap.parse_args()
    if a.action == "render": render(a.src, a.out)
    else: check_site(a.src.resolve(), a.out.resolve(), browser=not a.no_browser)
