"""`make lab` checked, not assumed: JupyterLab starts headless on 127.0.0.1 with a token, its REST API lists the
main and the Petals kernels, a session on 17_petals runs the notebook's first code cell through the Petals
kernel (transformers 4.34 in .venv-petals), and shutting down leaves no process behind.

It takes ~15-25 s (a server, a kernel, imports of torch and transformers), so `make test` skips it and
`make lab-check` runs it (INTERP_NBS_LAB_CHECK=1). The Petals kernel is registered by `make kernel`; the test
runs that target itself when the kernel is missing."""
import json, os, secrets, shutil, subprocess, tempfile, time, uuid
from pathlib import Path
import pytest
from interp_nbs.procs import free_port

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
PETALS_KERNEL = "interp-nbs-petals"
pytestmark = pytest.mark.skipif(os.environ.get("INTERP_NBS_LAB_CHECK") != "1",
                                reason="JupyterLab check: run `make lab-check` (~20 s)")


def first_code_cell(nb_path: Path) -> str:
    "The notebook's first code cell that does something (not only `#|` directives or comments)."
    for c in json.loads(nb_path.read_text())["cells"]:
        src = "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        if c["cell_type"] == "code" and any(l.strip() and not l.lstrip().startswith("#") for l in src.splitlines()):
            return src
    raise AssertionError(f"{nb_path.name} has no code cell")


def api(port, token, method, path, body=None, timeout=30):
    import urllib.request
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": f"token {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        data = r.read()
        return r.status, (json.loads(data) if data else None)


def run_cell(port, token, kernel_id, code, timeout=120):
    "Execute `code` on a kernel through the server's websocket; returns (status, stdout, error)."
    from tornado import ioloop, websocket, httpclient
    async def go():
        url = f"ws://127.0.0.1:{port}/api/kernels/{kernel_id}/channels?session_id={uuid.uuid4().hex}"
        conn = await websocket.websocket_connect(httpclient.HTTPRequest(url, headers={"Authorization": f"token {token}"}))
        msg_id = uuid.uuid4().hex
        conn.write_message(json.dumps({
            "header": {"msg_id": msg_id, "username": "test", "session": uuid.uuid4().hex, "msg_type": "execute_request",
                       "version": "5.3", "date": ""},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True}}))
        out, err, status, idle = [], None, None, False
        t_end = time.time() + timeout
        while time.time() < t_end and not (status and idle):
            m = await conn.read_message()
            if m is None: break
            m = json.loads(m)
            if m.get("parent_header", {}).get("msg_id") != msg_id: continue
            t = m["msg_type"]
            if t == "stream": out.append(m["content"]["text"])
            elif t == "error": err = f"{m['content']['ename']}: {m['content']['evalue']}"
            elif t == "execute_reply": status = m["content"]["status"]
            elif t == "status" and m["content"]["execution_state"] == "idle": idle = True
        conn.close()
        return status, "".join(out), err
    return ioloop.IOLoop.current().run_sync(go, timeout=timeout + 10)


def ensure_kernel():
    spec = VENV / "share" / "jupyter" / "kernels" / PETALS_KERNEL / "kernel.json"
    if not spec.exists():
        subprocess.run(["make", "--no-print-directory", "kernel"], cwd=ROOT, check=True, capture_output=True)
    assert spec.exists(), f"`make kernel` did not register {spec}"


def test_lab_runs_petals_notebook_first_cell():
    import psutil
    ensure_kernel()
    t0 = time.time()
    port, token = free_port(), secrets.token_hex(16)
    runtime = Path(tempfile.mkdtemp(prefix="lab-runtime-"))
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(runtime), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    cmd = [str(VENV / "bin" / "jupyter"), "lab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
           "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={ROOT / 'nbs'}",
           "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if hasattr(os, "geteuid") and os.geteuid() == 0: cmd.append("--allow-root")
    log = open(runtime / "lab.log", "w")
    lab = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    procs = {lab.pid}
    try:
        for _ in range(300):                                       # up to 30 s for the server to answer
            if lab.poll() is not None: raise AssertionError("jupyter lab exited: " + (runtime / "lab.log").read_text()[-2000:])
            try:
                if api(port, token, "GET", "/api/status", timeout=2)[0] == 200: break
            except OSError: time.sleep(0.1)
        else: raise AssertionError("jupyter lab did not answer within 30 s")
        # it listens on loopback only
        listening = {c.laddr.ip for c in psutil.Process(lab.pid).net_connections("tcp") if c.status == psutil.CONN_LISTEN}
        assert listening and listening <= {"127.0.0.1"}, listening
        # the REST API refuses a request without the token
        import urllib.request, urllib.error
        with pytest.raises(urllib.error.HTTPError, match="403"):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/kernelspecs", timeout=5)
        _, specs = api(port, token, "GET", "/api/kernelspecs")
        assert {"python3", PETALS_KERNEL} <= set(specs["kernelspecs"]), specs["kernelspecs"].keys()
        _, sess = api(port, token, "POST", "/api/sessions",
                      {"path": "17_petals.ipynb", "name": "17_petals.ipynb", "type": "notebook", "kernel": {"name": PETALS_KERNEL}})
        kid = sess["kernel"]["id"]
        assert sess["kernel"]["name"] == PETALS_KERNEL
        procs |= {p.pid for p in psutil.Process(lab.pid).children(recursive=True)}
        status, out, err = run_cell(port, token, kid, first_code_cell(ROOT / "nbs" / "17_petals.ipynb"))
        assert status == "ok", err
        status, out, err = run_cell(port, token, kid, "import sys, transformers; print(sys.prefix, transformers.__version__)")
        assert status == "ok", err
        prefix, version = out.split()
        assert Path(prefix).resolve() == (ROOT / ".venv-petals").resolve(), prefix
        assert version.startswith("4.34"), version                  # Petals' transformers, not the main env's 5.x
        procs |= {p.pid for p in psutil.Process(lab.pid).children(recursive=True)}
        assert len(procs) >= 2, "no kernel process seen"
        api(port, token, "DELETE", f"/api/sessions/{sess['id']}")
        api(port, token, "POST", "/api/shutdown")
        lab.wait(timeout=30)
    finally:
        if lab.poll() is None:
            lab.terminate()
            try: lab.wait(timeout=10)
            except subprocess.TimeoutExpired: lab.kill()
        log.close()
        left = [p for p in procs if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
        for p in left:                                              # never leave one behind, even on failure
            try: psutil.Process(p).kill()
            except psutil.NoSuchProcess: pass
        shutil.rmtree(runtime, ignore_errors=True)
    assert not left, f"processes left after shutdown: {left}"
    print(f"lab check: {time.time() - t0:.1f} s")
