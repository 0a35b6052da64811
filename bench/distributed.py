"""Cost of distributed capture on a tensor-parallel model (2 local gloo ranks).

    python bench/distributed.py [--arch llama] [--batch 16] [--repeats 30]

On 2 ranks, a zoo-sized model split with `tensor_parallel` runs, interleaved in one process pair:
a plain forward; a forward inside `capture(model, layout(model).blocks)` (every block output recorded), timed
with the whole context (attach, gather on exit, remove); and, reported separately, the time `gather` alone
takes. Block outputs are replicated under TP, so gathering them is a consistency check (one small all-gather of
call counts and checksums); gathering sharded outputs (every q projection, column-parallel) is reported as well.
Prints medians (rank 0) and the ratio hooked/plain (target <= 1.3).
"""
import argparse, statistics, time
import torch
from interp_nbs.world import make_model, world_tokenizer, corpus, encode_rows
from interp_nbs.icl import ICL
from interp_nbs.hooks import capture
from interp_nbs.layout import layout
from interp_nbs.distributed import launch, tensor_parallel


def timed(f):
    t0 = time.perf_counter(); f(); return time.perf_counter() - t0


def run(model, ids, repeats):
    m = tensor_parallel(model)
    lay = layout(m)
    qs = [a + ".q_proj" for a in lay.attn]
    gathers = {"blocks": [], "q_proj": []}

    def plain(): m(ids)

    def hooked(names, key):
        with capture(m, names) as t:
            m(ids)
            gathers[key].append(timed(t.gather))

    tp, th, tq = [], [], []
    with torch.no_grad():
        for _ in range(5): plain(); hooked(lay.blocks, "blocks"); hooked(qs, "q_proj")   # warm-up
        for k in gathers: gathers[k].clear()
        for _ in range(repeats):                          # interleaved so machine load hits all alike
            tp.append(timed(plain))
            th.append(timed(lambda: hooked(lay.blocks, "blocks")))
            tq.append(timed(lambda: hooked(qs, "q_proj")))
    med = statistics.median
    return dict(plain=med(tp), blocks=med(th), q_proj=med(tq), n_blocks=len(lay.blocks),
                gather_blocks=med(gathers["blocks"]), gather_q=med(gathers["q_proj"]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="llama")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=30)
    a = ap.parse_args()
    tok = world_tokenizer(ICL)
    model = make_model(a.arch, tok)
    ids, _ = encode_rows(tok, corpus(ICL, a.batch, seed=0))
    r = launch(run, model, ids, a.repeats, timeout=600)[0]
    ms = lambda s: f"{s * 1e3:8.2f} ms"
    print(f"TP-2 {a.arch} (zoo size), batch {a.batch}x{ids.shape[1]} tokens, {a.repeats} repeats, medians on rank 0")
    print(f"plain forward                         {ms(r['plain'])}")
    print(f"capture every block output ({r['n_blocks']})       {ms(r['blocks'])}   of which gather {ms(r['gather_blocks'])}")
    print(f"capture every q_proj output (sharded) {ms(r['q_proj'])}   of which gather {ms(r['gather_q'])}")
    print(f"ratio capture-blocks/plain: {r['blocks'] / r['plain']:.3f} (target <= 1.3); "
          f"without the gather: {(r['blocks'] - r['gather_blocks']) / r['plain']:.3f}")


if __name__ == "__main__":
    main()
