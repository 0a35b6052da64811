"""Processes die with their owner: `distributed.launch`'s ranks and `procs.die_with_owner` alone, checked with psutil
after a `kill -9` of the owner (as a kernel restart may do)."""
import subprocess
import sys
import time

from interp_nbs.procs import alive, descendants, _kill_owner

EMPTY = {"processes": [], "listening": [], "unix": []}


def test_launch_ranks_die_with_owner():
    "A script runs `launch(long_sleeping_fn, nprocs=2)`; after `kill -9` of the script no rank is left within 15 s."
    script = """
import os, time
from interp_nbs.distributed import launch
def long_sleeping_fn():
    os.write(1, f"{os.getpid()}\\n".encode())   # one write: the two ranks' lines never interleave (print writes twice)
    time.sleep(300)
launch(long_sleeping_fn, nprocs=2, timeout=300)
"""
    p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        ranks = [int(p.stdout.readline()) for _ in range(2)]
        everything = sorted(set(ranks) | set(descendants(p.pid)))
        assert len(alive(ranks)) == 2, ranks
    finally:
        p.kill(); p.wait()
    t0 = time.time()
    while alive(everything) and time.time() - t0 < 15: time.sleep(0.1)
    assert alive(everything) == [], f"ranks left {time.time() - t0:.0f} s after the owner's kill -9: {alive(everything)}"


def test_die_with_owner_parent_killed():
    "The owner is the parent: its child (with a grandchild of its own) ends within seconds of the owner's `kill -9`."
    script = """
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import subprocess, time; from interp_nbs.procs import die_with_owner; "
                          f"die_with_owner({os.getpid()}); subprocess.Popen(['sleep', '300']); time.sleep(300)"])
time.sleep(1.5); print(child.pid, flush=True); time.sleep(300)
"""
    pids, left, secs = _kill_owner(script)
    assert len(pids) == 2, pids                 # the child and its sleep
    assert left == EMPTY and secs < 5, (left, secs)


def test_die_with_owner_not_the_parent():
    "The owner is another process (the watching thread's case): killing it ends the process and its children."
    owner = subprocess.Popen(["sleep", "300"])
    child = subprocess.Popen([sys.executable, "-c", "import subprocess, time; from interp_nbs.procs import die_with_owner; "
                              f"die_with_owner({owner.pid}); subprocess.Popen(['sleep', '300']); time.sleep(300)"])
    try:
        time.sleep(1.5)
        pids = [child.pid, *descendants(child.pid)]
        assert len(alive(pids)) == 2, pids
        owner.kill(); owner.wait()
        t0 = time.time()
        while alive(pids) and time.time() - t0 < 15: time.sleep(0.1)
        assert alive(pids) == [] and time.time() - t0 < 5, (alive(pids), time.time() - t0)
    finally:
        for q in (owner, child):
            q.kill(); q.wait()


def test_terminate_takes_the_children():
    "`terminate()` (SIGTERM) of a process that called `die_with_owner` ends its children too, exiting by SIGTERM."
    child = subprocess.Popen([sys.executable, "-c", "import os, subprocess, time; from interp_nbs.procs import die_with_owner; "
                              "die_with_owner(os.getppid()); subprocess.Popen(['sleep', '300']); time.sleep(300)"])
    time.sleep(1.5)
    pids = [child.pid, *descendants(child.pid)]
    assert len(pids) == 2, pids
    child.terminate()
    assert child.wait(5) == -15
    t0 = time.time()
    while alive(pids) and time.time() - t0 < 5: time.sleep(0.1)
    assert alive(pids) == []


def test_owner_already_gone():
    "A process told to die with an owner that has already ended ends at once."
    gone = subprocess.Popen(["true"]); gone.wait()
    r = subprocess.run([sys.executable, "-c", f"from interp_nbs.procs import die_with_owner; die_with_owner({gone.pid}); "
                        "import time; time.sleep(30)"], timeout=10)
    assert r.returncode == -9
