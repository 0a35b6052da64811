"""The site check (`tools/docs.py check`, run by `make docs-check`) names every defect planted in a page:
a broken local link, a broken anchor, a link to an invented host, an input/output prompt, an exported name
without an entry, a notebook missing from the home page, duplicate anchors, a remote script; in chromium
(when installed) a console error and an empty page."""
import sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import docs

PAGES = {"index": "interp-nbs", "07_hooks": "Hooks", "02_study": "A study"}
EXPORTED = {"capture": "07_hooks", "Layout": "07_hooks", "score": "02_study"}
DECLARED, REPO = [], "interp-nbs"


def page(title, body, nav=""):
    return (f"<!doctype html><html><head><title>{title}</title></head><body>"
            f'<nav class="site-sidebar">{nav}<a href="index.html">home</a><a href="07_hooks.html">Hooks</a>'
            f'<a href="02_study.html">A study</a></nav><main><h1 id="{title}">{title}</h1>{body}</main></body></html>')


def good_site(d: Path):
    d.mkdir(parents=True, exist_ok=True)
    (d / "index.html").write_text(page("interp-nbs", '<table id="notebook-table"><tr><td><a href="07_hooks.html">01 Hooks</a>'
                                       '</td></tr><tr><td><a href="02_study.html">02 A study</a></td></tr></table>'))
    (d / "07_hooks.html").write_text(page("Hooks", '<section class="api api-entry" id="capture"><code>capture</code></section>'
                                          '<section class="api api-entry" id="layout"><code>Layout</code></section>'
                                          '<p>See <a href="02_study.html#score"><code>score</code></a> and '
                                          '<a href="https://arxiv.org/abs/2212.09095">the paper</a>.</p>'
                                          '<a class="api-source" href="../../interp_nbs/hooks.py#L3">source</a>'))
    (d / "02_study.html").write_text(page("A study", '<section class="api api-entry" id="score"><code>score</code></section>'
                                          '<p>Built on <a href="07_hooks.html#capture"><code>capture</code></a>.</p>'
                                          '<div class="jp-InputPrompt"></div><pre>print(x[0])</pre>'))
    (d.parent.parent / "interp_nbs").mkdir(exist_ok=True); (d.parent.parent / "interp_nbs" / "hooks.py").write_text("x = 1\n")
    return d


def problems(d):
    return docs.site_problems(d, PAGES, EXPORTED, DECLARED, REPO)[0]


@pytest.fixture
def site(tmp_path):
    return good_site(tmp_path / "_build" / "site")


def plant(site, name, old, new):
    p = site / name; s = p.read_text(); assert old in s; p.write_text(s.replace(old, new, 1))


def test_a_good_site_passes(site):
    probs, nlinks = docs.site_problems(site, PAGES, EXPORTED, DECLARED, REPO)
    assert probs == [] and nlinks == 15


@pytest.mark.parametrize("name,old,new,expect", [
    ("02_study.html", 'href="07_hooks.html#capture"', 'href="hooks.html#capture"', "02_study.html: broken link hooks.html#capture"),
    ("02_study.html", 'href="07_hooks.html#capture"', 'href="07_hooks.html#captur"', "02_study.html: broken anchor 07_hooks.html#captur"),
    ("07_hooks.html", 'href="02_study.html#score"', 'href="https://interp-nbs.github.io/interp-nbs/study.html#score"',
     "07_hooks.html: link to an invented host: https://interp-nbs.github.io/"),
    ("07_hooks.html", 'href="../../interp_nbs/hooks.py#L3"', 'href="https://github.com/interp-nbs/interp-nbs/blob/main/x.py"',
     "07_hooks.html: link to an invented host: https://github.com/interp-nbs/"),
    ("07_hooks.html", 'href="../../interp_nbs/hooks.py#L3"', 'href="../../interp_nbs/hook.py#L3"', "07_hooks.html: broken link ../../interp_nbs/hook.py"),
    ("02_study.html", '<div class="jp-InputPrompt"></div>', '<div class="jp-InputPrompt">In&nbsp;[ ]:</div>', "02_study.html: input/output prompt shown"),
    ("02_study.html", "<pre>print(x[0])</pre>", "<pre>Out[0]: 3</pre>", "02_study.html: input/output prompt shown: 'Out[0]:'"),
    ("02_study.html", 'id="score"', 'id="scores"', "02_study.html: no API entry for exported name `score`"),
    ("07_hooks.html", 'id="layout"', 'id="Layout-x"', "07_hooks.html: no API entry for exported name `Layout`"),
    ("07_hooks.html", 'class="api api-entry" id="capture"', 'class="api api-entry" id="layout"', "07_hooks.html: duplicate id(s) layout"),
    ("index.html", '<a href="02_study.html">02 A study</a>', "02 A study", "index.html: notebook 02_study (“A study”) not listed"),
    ("index.html", "</head>", '<script src="https://cdn.example.org/require.js"></script></head>',
     "index.html: loads a remote resource (offline site): https://cdn.example.org/require.js"),
])
def test_each_planted_defect_is_named(site, name, old, new, expect):
    plant(site, name, old, new)
    probs = problems(site)
    assert any(p.startswith(expect) for p in probs), probs


def test_a_missing_page_is_named(site):
    (site / "02_study.html").unlink()
    probs = problems(site)
    assert "02_study.html: page missing (notebook 02_study.ipynb, “A study”)" in probs
    assert any(p.startswith("07_hooks.html: broken link 02_study.html#score") for p in probs)


def test_declared_hosts_are_the_projects_own(site):
    plant(site, "07_hooks.html", 'href="02_study.html#score"', 'href="https://github.com/interp-nbs/interp-nbs/issues"')
    assert problems(site)
    assert docs.site_problems(site, PAGES, EXPORTED, ["https://github.com/interp-nbs/interp-nbs"], REPO)[0] == []


def test_expected_pages_and_names_come_from_the_notebooks():
    "Every notebook of nbs/ is a page; every public def/class of its exported cells (any module) an entry."
    pages, exported = docs.expected_from(ROOT / "nbs")
    assert set(pages) == {p.stem for p in (ROOT / "nbs").glob("*.ipynb") if not p.name.startswith(("_", "."))}
    nb = {"cells": [{"cell_type": "code", "source": "#| default_exp hooks"},
                    {"cell_type": "code", "source": "#| export\ndef capture(m): pass\ndef _private(): pass\nclass Layout: pass\nX = 1"},
                    {"cell_type": "code", "source": "#| export layout\ndef module(m, n): pass"},
                    {"cell_type": "code", "source": "def not_exported(): pass"}]}
    assert docs.exported_names(nb) == {"capture": "hooks", "Layout": "hooks", "module": "layout"}


def test_cross_references_prefer_the_page_then_its_imports():
    s = docs.Symbols()
    s.add("capture", "07_hooks", "capture", "hooks"); s.add("capture", "22_distributed", "capture", "distributed")
    s.add("score", "05_study", "score", "study")
    md = "Use `capture` and `score()`; ```not `capture` here```\n```\n`capture`\n```\n[`capture`](x.html)"
    out = s.linkify(md, "05_study")
    assert out.startswith("Use [`capture`](07_hooks.html#capture) and [`score()`](05_study.html#score)")
    assert out.count("](") == 3                                # the fenced block and the existing link untouched
    assert s.linkify("`capture`", "22_distributed") == "[`capture`](22_distributed.html#capture)"
    assert s.linkify("`capture`", "09_x", {("distributed", "capture")}) == "[`capture`](22_distributed.html#capture)"
    assert s.linkify("`hooks.capture` `distributed.capture`", "09_x") == \
        "[`hooks.capture`](07_hooks.html#capture) [`distributed.capture`](22_distributed.html#capture)"
    assert docs.anchors_for(["edit", "Edit", "capture"]) == {"edit": "edit", "Edit": "Edit", "capture": "capture"}


def test_key_result_is_the_marked_cells_output():
    img = {"output_type": "display_data", "data": {"image/png": "iVBOR", "text/plain": "<Figure>"}}
    txt = {"output_type": "stream", "name": "stdout", "text": ["accuracy 0.97 [0.95, 0.99]\n"]}
    nb = {"cells": [{"cell_type": "code", "source": "#| key-result: accuracy by shots\nplot()", "outputs": [txt, img]}]}
    assert docs.key_result(nb) == ("image", "iVBOR", "accuracy by shots")
    nb["cells"][0]["outputs"] = [txt]
    assert docs.key_result(nb) == ("text", "accuracy 0.97 [0.95, 0.99]", "accuracy by shots")
    nb["cells"][0]["outputs"] = []                            # not executed (make test): no key result
    assert docs.key_result(nb) is None


@pytest.mark.skipif(not docs.chromium(), reason="no chromium")
def test_browser_names_console_errors_and_empty_pages(site):
    assert docs.browser_problems(site, docs.chromium()) == []
    plant(site, "02_study.html", "</main>", "</main><script>undefinedFunction();</script>")
    (site / "07_hooks.html").write_text("<!doctype html><html><body></body></html>")
    probs = docs.browser_problems(site, docs.chromium())
    assert any(p.startswith("02_study.html: console error") and "undefinedFunction" in p for p in probs), probs
    assert "07_hooks.html: renders empty in the browser" in probs, probs


PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


def nb(*cells):
    import nbformat
    out = nbformat.v4.new_notebook()
    out.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for kind, src, *outs in cells:
        c = nbformat.v4.new_markdown_cell(src) if kind == "md" else nbformat.v4.new_code_cell(src)
        if kind == "code": c.outputs = [nbformat.from_dict(o) for o in (outs[0] if outs else [])]
        out.cells.append(c)
    return nbformat.writes(out)


def test_render_of_an_executed_notebook(tmp_path):
    """End to end on a small executed notebook: pages named after notebooks, no prompts, the exported function
    as an API entry that backticked names link to, alt text from `#| fig-alt:`, a widget view replaced by the
    cell's static figure, and the key result on the home page; the site check passes on it."""
    src, out = tmp_path / "nbs", tmp_path / "site"
    src.mkdir()
    widget = {"output_type": "display_data", "metadata": {},
              "data": {"application/vnd.jupyter.widget-view+json": {"model_id": "abc", "version_major": 2, "version_minor": 0},
                       "text/plain": "VBox(children=(Dropdown(...),))"}}
    fig = {"output_type": "display_data", "metadata": {}, "data": {"image/png": PNG, "text/plain": "<Figure>"}}
    res = {"output_type": "stream", "name": "stdout", "text": "accuracy 0.97 [0.95, 0.99]\n"}
    (src / "index.ipynb").write_text(nb(("md", "# Site\n\n> The home page."), ("md", "## Notebooks\n\n<!-- notebook-table -->")))
    (src / "01_frob.ipynb").write_text(nb(
        ("md", "# Frobbing\n\n> How `frob` works."),
        ("code", "#| export\ndef frob(x:int # a number\n        ) -> int:\n    \"Twice `x`.\"\n    return 2 * x"),
        ("md", "## Use\n\nCall `frob`; the explorer below is a widget."),
        ("code", "#| fig-alt: A heat map of frobbed layers\nexplorer()", [widget, fig]),
        ("code", "#| key-result: accuracy\nprint('accuracy 0.97 [0.95, 0.99]')", [res]),
        ("code", "frob(2)", [{"output_type": "execute_result", "execution_count": 3, "metadata": {}, "data": {"text/plain": "4"}}])))
    pages = docs.render_offline(src, out)
    assert [p.name for p, *_ in pages] == ["index.html", "01_frob.html"]
    s = (out / "01_frob.html").read_text()
    assert 'class="api api-entry" id="frob"' in s
    assert 'href="01_frob.html#frob"' in s and "interp-nbs.github.io" not in s
    assert 'alt="A heat map of frobbed layers"' in s and "No description has been provided" not in s
    assert "widget-view" not in s and s.count('class="figure"') == 1
    assert "In&nbsp;[" not in s and "Out[" not in s
    assert 'class="site-toc"' in s and 'href="#Use"' in s
    i = (out / "index.html").read_text()
    assert 'href="01_frob.html"' in i and "accuracy 0.97 [0.95, 0.99]" in i
    probs, _ = docs.site_problems(out, {"index": "Site", "01_frob": "Frobbing"}, {"frob": "01_frob"})
    assert probs == [], probs


def test_quarto_path_gets_the_notebook_table():
    "With Quarto, nbdev_docs renders a copy of the notebooks whose index lists every notebook (a markdown table)."
    md = docs.index_markdown(ROOT / "nbs")
    for p in docs.notebooks(ROOT / "nbs"):
        if p.stem != "index": assert f"]({p.name})" in md, p.name
    assert docs.INDEX_MARK in (ROOT / "nbs" / "index.ipynb").read_text()


def test_without_chromium_the_check_says_skipped(site, monkeypatch, capsys):
    monkeypatch.setattr(docs, "chromium", lambda: None)
    monkeypatch.setattr(docs, "expected_from", lambda src: (PAGES, EXPORTED))
    monkeypatch.setattr(docs, "modidx_names", lambda: {})
    docs.check_site(site.parent, site)
    assert "SKIPPED: no chromium" in capsys.readouterr().out.splitlines()
    plant(site, "02_study.html", 'id="score"', 'id="scores"')
    with pytest.raises(SystemExit, match="no API entry for exported name `score`"): docs.check_site(site.parent, site)


# ------------------------------------------------------------------ API entries read like nbdev's own docs
def module_from(tmp_path, src, name="planted"):
    "Import `src` as a module from a file in `tmp_path` (so its source is there for the entry, as for the package)."
    import importlib.util, textwrap
    p = tmp_path / f"{name}.py"; p.write_text(textwrap.dedent(src))
    spec = importlib.util.spec_from_file_location(name, p)
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    return mod


def rows(html):
    "The entry's table as {first cell: the row's cells}."
    from bs4 import BeautifulSoup
    return {tr.find_all("td")[0].get_text(strip=True): [td.get_text(strip=True) for td in tr.find_all("td")]
            for tr in BeautifulSoup(html, "html.parser").select("tbody tr")}


def code_blocks(html):
    from bs4 import BeautifulSoup
    return [pre.get_text() for pre in BeautifulSoup(html, "html.parser").select(".api-doc pre")]


EXAMPLES = {
    "indented": '''
        def streams(model, ids):
            """The residual stream before block 0 and after every block.

                hs = streams(model, ids)      # hs[0]: embeddings
                hs.shape                      # [n_layers + 1, ...]
            """
        ''',
    "indented, no blank line": '''
        def streams(model, ids):
            """Context manager doing things:
                with streams(model, ids):
                    hs = streams(model, ids)  # hs[0]: embeddings
                hs.shape                      # [n_layers + 1, ...]"""
        ''',
    "fenced": '''
        def streams(model, ids):
            """The residual stream before block 0 and after every block.

            ```python
            hs = streams(model, ids)      # hs[0]: embeddings
            hs.shape                      # [n_layers + 1, ...]
            ```
            Then more prose.
            """
        ''',
    "doctest": '''
        def streams(model, ids):
            """The residual stream before block 0 and after every block.

            >>> hs = streams(model, ids)
            >>> hs.shape
            [n_layers + 1, ...]

            Then more prose.
            """
        '''}


@pytest.mark.parametrize("kind", EXAMPLES)
def test_docstring_examples_are_code_blocks(tmp_path, kind):
    html = docs.entry_html(module_from(tmp_path, EXAMPLES[kind]).streams)
    blocks = code_blocks(html)
    assert any("hs = streams(model, ids)" in b and "\n" in b.split("hs = streams")[1] and "hs.shape" in b for b in blocks), \
        f"expected the {kind} example as a <pre> block with its line breaks, got blocks {blocks} in {html[:600]!r}"
    assert "<pre><code>" in html, f"expected <pre><code>, got {html[:600]!r}"
    assert "Then more prose" not in "".join(blocks), f"prose after the {kind} example ended up in the code block: {blocks}"


NOTEBOOK_CLASSES = {
    "with __init__": 'class Ev:\n    """Accuracy of `model`:\n        ev = Ev(model)\n        ev.samples(8)"""\n'
                     '    def __init__(self, model, path=__import__("pathlib").Path.cwd()): pass',
    "dataclass, no methods": 'from dataclasses import dataclass\nimport pathlib\n@dataclass\nclass Ev:\n'
                             '    """Accuracy of `model`.\n\n        ev = Ev(model)\n        ev.samples(8)\n    """\n'
                             '    model: object\n    path: pathlib.Path = __import__("pathlib").Path.cwd()'}


@pytest.mark.parametrize("kind", NOTEBOOK_CLASSES)
def test_notebook_class_examples_are_code_blocks(kind):
    "A class defined in a notebook cell (no source file: found in the cells IPython ran) gets its examples as code too."
    from execnb.shell import CaptureShell
    k = CaptureShell()
    k.run(NOTEBOOK_CLASSES[kind])
    html = docs.entry_html(k.user_ns["Ev"])
    assert any(b.startswith("ev = Ev(model)\nev.samples(8)") for b in code_blocks(html)), \
        f"expected the class's example as a <pre> block, got {html[:500]!r}"
    sig = html.split('class="api-sig">')[1].split("</pre>")[0].replace("&quot;", '"')
    assert sig.endswith('=__import__("pathlib").Path.cwd())') and "/" not in sig, f"expected the default as written, got {sig!r}"


def test_each_argument_comment_on_its_own_row(tmp_path):
    mod = module_from(tmp_path, '''
        def streams(model:int, # a causal LM
                    ids:int, # `[batch, tokens]`
                    **kw # other inputs of the forward
                   ) -> int:
            "The residual streams."
        ''')
    r = rows(docs.entry_html(mod.streams))
    assert r.get("kw", [""])[-1] == "other inputs of the forward", f"expected the **kw comment on the kw row, got rows {r}"
    assert "other inputs" not in " ".join(r.get("Returns", [])), f"the **kw comment landed on the Returns row: {r}"
    assert r.get("Returns", [None, None])[1] == "int", f"expected a Returns row of its own (type int), got {r}"


def test_defaults_as_written_not_absolute_paths(tmp_path):
    mod = module_from(tmp_path, '''
        from pathlib import Path
        DATA = Path(__file__).parent / "data" / "capitals.csv"
        def capitals(path=DATA, # the table
                     sep:str=",", n=2 * 3, names="llama-icl-opt-icl-smollm2-135m-instruct-llama-puzzle-llama-world-opt-icl"):
            "Rows of the table."
        ''')
    html = docs.entry_html(mod.capitals)
    sig = html.split('class="api-sig">')[1].split("</pre>")[0].replace("&quot;", '"')
    assert sig == ('capitals (path=DATA, sep:str=",", n=2 * 3, names="llama-icl-opt-icl-smollm2-135m-instruct-llama-'
                   'puzzle-llama-world-opt-icl")'), f"expected the defaults as the source writes them, got {sig!r}"
    assert str(tmp_path) not in html, f"the entry shows this machine's path {tmp_path}: {html[:500]!r}"
    assert rows(html)["path"][2] == "DATA", f"expected the table's default as written, got {rows(html)}"


def test_types_by_short_names(tmp_path):
    mod = module_from(tmp_path, '''
        import pathlib, typing
        import torch
        from torch import nn
        def streams(model:nn.Module, # the model
                    ids:torch.Tensor, out:pathlib.Path=None, mask:typing.Optional[torch.Tensor]=None) -> torch.Tensor:
            "The residual streams."
        ''')
    html = docs.entry_html(mod.streams)
    sig = html.split('class="api-sig">')[1].split("</pre>")[0]
    assert sig == "streams (model:Module, ids:Tensor, out:Path=None, mask:Optional[Tensor]=None)", \
        f"expected short type names in the signature, got {sig!r}"
    assert "torch.nn" not in html and "torch.Tensor" not in html, f"expected no module paths in types, got {html[:700]!r}"
    assert rows(html)["Returns"][1] == "Tensor", f"expected the return type Tensor, got {rows(html)}"
