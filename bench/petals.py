"""Cost of attributing through a local 2-server Petals swarm, relative to the same attribution on the local model.

    .venv-petals/bin/python bench/petals.py [--blocks 0:2 2:4]

Runs in the Petals environment (`make bench` does). Starts a swarm on 127.0.0.1 serving `llama-puzzle` (one
server per block range), connects a client, and times one contrastive attribution of the tutorial's puzzle
(`attribute`, saliency, with both step scores) through the swarm and one on the local model, after one warm-up
call each. Prints both times and their ratio (one run; swarm start-up is reported separately, not counted).
"""
import argparse, sys, time
from pathlib import Path
# this file is named like the `petals` package: keep its folder off the import path so `import petals` finds Petals
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
from interp_nbs.puzzle import MODEL, PROMPT
from interp_nbs.portable import local_model
from interp_nbs.attribution import attribute, max_abs_diff
from interp_nbs.swarm import swarm, client


def timed(f):
    t0 = time.perf_counter(); out = f(); return out, time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--blocks", nargs="+", default=["0:2", "2:4"])
    a = ap.parse_args()
    model, tok = local_model(MODEL)
    attribute(model, tok, PROMPT, "1", "2")                                    # warm-up
    local, t_local = timed(lambda: attribute(model, tok, PROMPT, "1", "2"))
    t0 = time.perf_counter()
    with swarm(MODEL, "puzzle", blocks=a.blocks, progress=False) as sw:
        t_up = time.perf_counter() - t0
        with client(sw.peers, MODEL, "puzzle") as dmodel:
            attribute(dmodel, tok, PROMPT, "1", "2")                           # warm-up (route discovery)
            remote, t_swarm = timed(lambda: attribute(dmodel, tok, PROMPT, "1", "2"))
    print(f"swarm of {len(a.blocks)} servers ({' '.join(a.blocks)}) up in {t_up:.1f} s")
    print(f"attribution local  {t_local * 1e3:8.1f} ms")
    print(f"attribution swarm  {t_swarm * 1e3:8.1f} ms   (max |swarm - local| {max_abs_diff(remote, local):.1e})")
    print(f"ratio swarm / local: {t_swarm / t_local:.1f}")


if __name__ == "__main__":
    main()
