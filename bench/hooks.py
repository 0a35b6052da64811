"""Cost of capturing every block's output, relative to a plain forward, on an embedded model.

    python bench/hooks.py [--model opt-icl] [--batch 16] [--repeats 300]

Prints the median time of a plain forward, of a forward under `capture(model, layout(model).blocks)`, and
their ratio (target <= 1.05). Both are measured interleaved in one process, so machine load hits both alike.
"""
import argparse
import torch
from timing import interleaved
from interp_nbs.checkpoints import load
from interp_nbs.world import corpus, encode_rows
from interp_nbs.icl import ICL
from interp_nbs.hooks import capture
from interp_nbs.layout import layout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="opt-icl")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=300)   # a forward takes ~4 ms: many repeats steady the median
    a = ap.parse_args()
    torch.manual_seed(0)
    model, tok = load(a.model)
    ids, _ = encode_rows(tok, corpus(ICL, a.batch, seed=0))
    blocks = layout(model).blocks

    def plain():
        model(ids)

    def hooked():
        with capture(model, blocks) as t: model(ids)
        return t

    with torch.no_grad():
        p, h = interleaved(plain, hooked, repeats=a.repeats, warmup=5)
    print(f"model {a.model}, batch {a.batch}x{ids.shape[1]} tokens, {len(blocks)} blocks captured, {a.repeats} repeats")
    print(f"plain forward   median {p * 1e3:8.2f} ms")
    print(f"capture blocks  median {h * 1e3:8.2f} ms")
    print(f"ratio hooked/plain: {h / p:.3f} (target <= 1.05)")


if __name__ == "__main__":
    main()
