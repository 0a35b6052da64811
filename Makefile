# interp-nbs: `make tutorials` and `make test` each build what they need from a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Petals pins transformers<4.35: its notebook (02_petals) runs in a second environment (tools/petals_env.sh)
VENV_PETALS := .venv-petals
# one thread per process: 2 notebooks run at once on a 2-core machine, and tiny matrices gain nothing from more
export OMP_NUM_THREADS ?= 1
# offline: no hub, no telemetry
export HF_HUB_OFFLINE ?= 1
export HF_HUB_DISABLE_TELEMETRY := 1
export TOKENIZERS_PARALLELISM := false
export MPLBACKEND := Agg

.PHONY: env petals-env kernel test tutorials lab docs-check export-check bench clean

env: $(VENV)/.installed

$(VENV)/.installed: requirements.txt setup.py settings.ini
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $@

petals-env: $(VENV_PETALS)/.installed

$(VENV_PETALS)/.installed: requirements-petals.txt tools/petals_env.sh setup.py settings.ini
	nice tools/petals_env.sh $(VENV_PETALS)
	touch $@

# JupyterLab kernel "Python 3 (interp-nbs petals)" for 02_petals, registered in .venv's Jupyter
kernel: env $(VENV_PETALS)/.installed
	$(VENV_PETALS)/bin/python -m ipykernel install --prefix $(abspath $(VENV)) --name interp-nbs-petals \
		--display-name "Python 3 (interp-nbs petals)" >/dev/null

## make test: the notebooks' cells (nbdev_test), tests/ (pytest), export in sync, every page renders
test: env $(VENV_PETALS)/.installed
	$(VENV)/bin/nbdev_test --n_workers 2 --timing --skip_file_re '^([_.]|.*petals)'
	$(VENV_PETALS)/bin/nbdev_test --path nbs/02_petals.ipynb --timing
	$(VENV)/bin/pytest -q tests
	$(MAKE) --no-print-directory export-check docs-check

export-check: env
	$(VENV)/bin/nbdev_export
	@if git rev-parse --git-dir >/dev/null 2>&1 && [ -n "$$(git status --porcelain -- interp_nbs)" ]; then \
		git status --porcelain -- interp_nbs; echo "interp_nbs/ is out of sync with nbs/: run nbdev_export and commit"; exit 1; fi

docs-check: env
	$(PY) tools/docs.py render --src nbs --out _build/docs-check

## make tutorials: execute every notebook on the embedded models, then render the site into _docs/
tutorials: env $(VENV_PETALS)/.installed
	$(PY) tools/docs.py execute --src nbs --out _build/nbs
	$(PY) tools/docs.py render --src _build/nbs --out _docs
	@echo "site: _docs/index.html"

lab: env kernel
	$(VENV)/bin/jupyter lab --notebook-dir=nbs

bench: env $(VENV_PETALS)/.installed
	$(PY) bench/hooks.py
	$(PY) bench/importance.py
	$(PY) bench/distributed.py
	$(VENV_PETALS)/bin/python bench/petals.py

clean:
	rm -rf _build _proc _docs
