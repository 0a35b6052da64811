#!/usr/bin/env bash
# Build the Petals environment (default .venv-petals) from PyPI only:
#   1. torch==2.13.0 (a CPU wheel; never let pip choose torch)
#   2. hivemind==1.1.10.post2 (what petals 2.2.0.post1 pins) is on PyPI only as an sdist whose build
#      imports pkg_resources (-> built in a side venv with setuptools<70, without build isolation) and
#      downloads the p2pd binary from GitHub (fails offline). The hivemind 1.1.12 wheel on PyPI ships p2pd
#      (same daemon protocol): we put it in the sdist and set setup.py's expected sha256 to that binary's.
#      hivemind 1.1.10 also imports `torch.cuda.amp.grad_scaler._refresh_per_optimizer_state`, which newer
#      torch moved to `torch.amp.grad_scaler`: patched.
#   3. requirements-petals.txt, then this package in editable mode (no dependencies).
set -euo pipefail
cd "$(dirname "$0")/.."
V=${1:-.venv-petals}
PY=${PYTHON:-python3}
B=$V/.build                     # side venv that builds the hivemind wheel
W=$B/work
test -x $V/bin/python || $PY -m venv $V
test -x $B/bin/python || $PY -m venv $B
pipq() { "$@" -q --disable-pip-version-check 2>&1 | { grep -v -e "^WARNING: Location" -e "does not provide the extra" || true; }; return ${PIPESTATUS[0]}; }
pipq $V/bin/pip install torch==2.13.0
pipq $B/bin/pip install "setuptools<70" wheel grpcio-tools==1.62.3
rm -rf $W && mkdir -p $W/dist
pipq $B/bin/pip download --no-deps --only-binary :all: hivemind==1.1.12 -d $W
pipq $B/bin/pip download --no-deps --no-build-isolation --no-binary :all: hivemind==1.1.10.post2 -d $W
$B/bin/python - "$W" <<'PY'
import hashlib, re, sys, tarfile, zipfile
from pathlib import Path
w = Path(sys.argv[1])
tarfile.open(next(w.glob("hivemind-1.1.10.post2.tar.gz"))).extractall(w)
src = w / "hivemind-1.1.10.post2"
p2pd = src / "hivemind/hivemind_cli/p2pd"
p2pd.write_bytes(zipfile.ZipFile(next(w.glob("hivemind-1.1.12-*.whl"))).read("hivemind/hivemind_cli/p2pd"))
p2pd.chmod(0o755)
digest = hashlib.sha256(p2pd.read_bytes()).hexdigest()
setup = src / "setup.py"
s, n = re.subn(r'("p2pd-linux-amd64": )"[0-9a-f]{64}"', rf'\1"{digest}"', setup.read_text())
assert n == 1, "setup.py: p2pd hash line not found"
setup.write_text(s)
gs = src / "hivemind/optim/grad_scaler.py"
s = gs.read_text().replace("from torch.cuda.amp.grad_scaler import", "from torch.amp.grad_scaler import")
gs.write_text(s)
print(f"hivemind 1.1.10.post2 sdist patched: p2pd from the 1.1.12 wheel (sha256 {digest[:12]}...), grad_scaler import")
PY
pipq $B/bin/pip wheel --no-deps --no-build-isolation $W/hivemind-1.1.10.post2 -w $W/dist
pipq $V/bin/pip install $W/dist/hivemind-1.1.10.post2-*.whl -r requirements-petals.txt
pipq $V/bin/pip install --no-deps -e .
# interp-nbs itself asks for transformers>=5 (the main env's); here it is installed without dependencies
bad=$($V/bin/pip check 2>&1 | grep -v -e "^interp-nbs " -e "^No broken requirements" || true)
if [ -n "$bad" ]; then echo "$bad"; exit 1; fi
echo "$V ready"
