"""Committed outputs and the evidence rules (`tools/run.py`, the notebook part of `tools/docs.py check`): each check
is shown to fail on a planted defect and to pass on the fixed notebook."""
import json, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import docs, run


def nb(*cells, meta=None):
    out = []
    for i, (kind, src, outputs) in enumerate(cells):
        c = {"cell_type": kind, "id": f"c{i}", "metadata": {}, "source": src}
        if kind == "code": c.update(execution_count=None, outputs=outputs)
        out.append(c)
    return {"cells": out, "metadata": {"kernelspec": {"name": "python3"}, **(meta or {})}, "nbformat": 4, "nbformat_minor": 5}


def printed(text): return [{"output_type": "stream", "name": "stdout", "text": text}]


def test_prose_number_not_printed_fails():
    "The planted defect of the issue: prose says 0.91 where the output says 0.87."
    bad = nb(("markdown", "The probe reaches 0.91 on held-out pairs.", None), ("code", "print(acc)", printed("accuracy 0.87\n")))
    probs = docs.prose_problems(bad, "99_planted")
    assert len(probs) == 1 and "markdown cell 0 states 0.91" in probs[0], probs
    good = nb(("markdown", "The probe reaches 0.87 on held-out pairs.", None), ("code", "print(acc)", printed("accuracy 0.8712\n")))
    assert docs.prose_problems(good, "99_planted") == [], "0.87 is 0.8712 at the prose's precision"


@pytest.mark.parametrize("prose, output, ok", [
    ("error 4,968 km", "mae 4968.3", True), ("error 4,968 km", "mae 4971.0", False),
    ("75% of the heads", "share 0.75", True), ("75% of the heads", "share 0.70", False),
    ("5/12 restarts", "5/12 succeed", True), ("5/12 restarts", "5 of 12 succeed", True), ("5/12 restarts", "6/12", False),
    ("Paris ranks 3, 3, 2", "ranks [3, 3, 2]", True), ("Paris ranks 3, 4", "ranks [3, 3]", False),
    ("IIA 0.993 [0.976, 0.998]", "0.9933 (0.9761, 0.9979)", True), ("ratio 1.19x", "1.19", True),
    ("difference 4.8e-6", "max diff 4.79e-06", True), ("difference 4.8e-6", "max diff 5.2e-06", False),
    ("with `lr=0.1` and 3 epochs", "", True),                       # code and plain integers are settings
    ("the paper's 70% <!-- given: 70% -->", "", True),             # a quoted figure, declared
    ("nbdev 2.4.7 and 12 layers", "", True),                         # versions and counts are not results
])
def test_prose_number_cases(prose, output, ok):
    probs = docs.prose_problems(nb(("markdown", prose, None), ("code", "x", printed(output))), "99_case")
    assert (probs == []) == ok, f"expected {'no problem' if ok else 'a problem'} for {prose!r} vs {output!r}, got {probs}"


def test_stale_outputs_named_by_cell(tmp_path):
    "A cell edited after `make outputs` makes the check name the notebook, the cells and the command."
    p = tmp_path / "09_demo.ipynb"
    cells = [("markdown", "# Demo", None), ("code", "x = 1", []), ("code", "print(x)", printed("1\n"))]
    fresh = nb(*cells, meta={run.META: {"sources": {"c1": run.source_hash("x = 1"), "c2": run.source_hash("print(x)")}}})
    p.write_text(json.dumps(fresh))
    assert run.stale([p]) == [], "outputs made from these very sources are not stale"
    fresh["cells"][2]["source"] = "print(x + 1)"
    p.write_text(json.dumps(fresh))
    assert run.stale([p]) == ["09_demo: cell 2 changed since its outputs were made: run `make outputs NB=09_demo`"], run.stale([p])
    p.write_text(json.dumps(nb(*cells)))
    assert run.stale([p]) == ["09_demo: no outputs recorded: run `make outputs NB=09_demo`"], run.stale([p])


def test_committed_outputs_are_deterministic():
    "Progress bars keep their final state without timings; memory addresses, this machine's paths and temp names go."
    bar = "step:  50%|#####     | 5/10 [00:01<00:01,  4.2it/s]\rstep: 100%|##########| 10/10 [00:02<00:00,  4.9it/s]\n"
    assert run.clean_text(bar) == "step: 100%|##########| 10/10\n", repr(run.clean_text(bar))
    assert run.clean_text("<Hook at 0x7f3a2b1c>") == "<Hook>"
    assert run.clean_text(f"saved {run.ROOT}/interp_nbs/data/x.json") == "saved interp_nbs/data/x.json"
    assert run.clean_text("wrote /tmp/tmpa8x_2k/model") == "wrote /tmp/…/model"


def test_every_committed_notebook_has_current_outputs():
    "What `make test`'s docs-check enforces, as a test: no notebook's outputs are older than its cells."
    assert run.stale(run.notebooks()) == [], run.stale(run.notebooks())


def test_tree_unchanged_catches_a_written_file(tmp_path):
    "The check `make test` and `make tutorials` end with: a tracked file changed during the run fails it."
    repo = tmp_path / "repo"; repo.mkdir()
    git = lambda *a: subprocess.run(["git", *a], cwd=repo, check=True, capture_output=True)
    git("init", "-q"); (repo / "shipped.json").write_text("1"); git("add", "."); git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x")
    old = run.ROOT
    try:
        run.ROOT = repo
        before = run.tree_state()
        (repo / "shipped.json").write_text("2")
        assert run.tree_state() != before, "a rewritten shipped file must change the tree state"
        assert list(run.tree_state()) == ["shipped.json"], run.tree_state()
    finally: run.ROOT = old


def bare_asserts(paths) -> list:
    "`notebook: cell N, line L` of every `assert` without a message in the notebooks' code cells."
    import ast
    out = []
    for p in paths:
        for i, c in enumerate(json.loads(p.read_text())["cells"]):
            if c["cell_type"] != "code": continue
            src = "\n".join(l if not l.lstrip().startswith(("%", "!")) else "" for l in "".join(c["source"]).splitlines())
            out += [f"{p.stem}: cell {i}, line {n.lineno}" for n in ast.walk(ast.parse(src)) if isinstance(n, ast.Assert) and n.msg is None]
    return out


def test_every_assert_says_what_it_expected():
    "A failing assertion says what it expected and what it got: no `assert cond` without a message in any notebook."
    planted = ROOT / "_build" / "test-planted-assert.ipynb"
    planted.parent.mkdir(exist_ok=True)
    planted.write_text(json.dumps(nb(("code", "x = 1\nassert x == 1", []), ("code", "assert x, f'expected x, got {x}'", []))))
    assert bare_asserts([planted]) == ["test-planted-assert: cell 0, line 2"], bare_asserts([planted])
    planted.unlink()
    assert bare_asserts(run.notebooks()) == [], bare_asserts(run.notebooks())


def test_docs_check_fails_on_planted_notebooks(tmp_path):
    "What docs-check adds to the site check (`notebook_problems`): a stale output and an unprinted prose number, each named."
    fresh = nb(("markdown", "# Planted\n\nAccuracy 0.87.", None), ("code", "print(acc)", printed("accuracy 0.87\n")),
               meta={run.META: {"sources": {"c1": run.source_hash("print(acc)")}}})
    (tmp_path / "01_planted.ipynb").write_text(json.dumps(fresh))
    assert docs.notebook_problems(tmp_path) == [], docs.notebook_problems(tmp_path)
    fresh["cells"][0]["source"] = "# Planted\n\nAccuracy 0.91."                      # prose disagrees with the output
    fresh["cells"][1]["source"] = "print(acc * 1)"                                    # the cell changed after its output
    (tmp_path / "01_planted.ipynb").write_text(json.dumps(fresh))
    probs = docs.notebook_problems(tmp_path)
    assert any("cell 1 changed since its outputs were made" in p for p in probs), probs
    assert any("markdown cell 0 states 0.91" in p for p in probs), probs
