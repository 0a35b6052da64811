"Tests of the project's tooling and of behaviour that needs a fresh process."
import subprocess, sys, os, textwrap
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import docs


def test_directives_parsed_like_nbdev():
    assert docs.directives("#| export\nx = 1") == {"export": ""}
    assert docs.directives("#| eval: false\n#| hide\n\nimport x") == {"eval": "false", "hide": ""}
    assert docs.directives("x = 1\n#| export") == {}


def test_title_from_first_heading():
    nb = {"cells": [{"cell_type": "code", "source": ["#| default_exp x"]},
                    {"cell_type": "markdown", "source": ["# Hooks\n", "\n", "> summary"]}]}
    assert docs.title(nb, "fallback") == "Hooks"
    assert docs.title({"cells": []}, "fallback") == "fallback"


def test_every_notebook_is_numbered_and_titled():
    import json
    nbs = docs.notebooks(ROOT / "nbs")
    assert nbs, "no notebooks"
    for p in nbs:
        if p.stem == "index": continue
        assert p.stem[:2].isdigit() and p.stem[2] == "_", f"{p.name}: notebooks are numbered NN_name"
        assert docs.title(json.loads(p.read_text()), "") != "", f"{p.name}: no '# Title' heading"


def test_hub_id_fails_fast_offline():
    "A hub id on a machine without the hub raises a clear OSError in a fresh process instead of hanging."
    code = textwrap.dedent("""
        from interp_nbs.checkpoints import load
        try: load("facebook/opt-125m")
        except OSError as e: print("ERR", e)
    """)
    env = {k: v for k, v in os.environ.items() if k != "HF_HUB_OFFLINE"}   # really try the network path
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert "ERR could not load 'facebook/opt-125m'" in out.stdout, out.stdout + out.stderr
    assert "huggingface-cli download" in out.stdout


def test_page_check_fails_on_error_outputs(tmp_path):
    page = tmp_path / "x.html"
    page.write_text('<h1>Title</h1><nav class="site-sidebar"></nav>')
    docs.check([(page, "Title", 0)])                      # a good page passes
    with pytest.raises(SystemExit, match="1 error output"): docs.check([(page, "Title", 1)])
    with pytest.raises(SystemExit, match="title missing"): docs.check([(page, "Other", 0)])
