"""Cost of attribution patching relative to exact activation patching over the same (layer, token) sites.

    python bench/tracing.py [--model llama-icl] [--samples 10] [--repeats 5]

Exact patching (`causal_trace`, kind "hidden") restores every block output at every token of one prompt, one site
at a time (batched per layer: `layers` forwards of `tokens x samples` rows, plus the clean and corrupted runs).
Attribution patching (`attribution_patching`) estimates all of those sites from one clean forward, one corrupted
forward and one backward. Both are timed interleaved in one process on the same prompt, noise and sites; the ratio
of medians is printed (attribution / exact: it should be far below 1 and shrink as layers x tokens grows).
The zoo models are traced on a recall fact of the in-context world; a pretrained model on "The capital of France is".
"""
import argparse
import torch
from timing import interleaved
from interp_nbs.checkpoints import load
from interp_nbs.layout import layout
from interp_nbs.lens import answer_id
from interp_nbs.tracing import attribution_patching, causal_trace, find_span, recall_facts
from interp_nbs.stats import spearman


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="llama-icl")
    ap.add_argument("--samples", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    torch.manual_seed(0)
    model, tok = load(a.model)
    if a.model.endswith("-icl"):
        x, y, subj = recall_facts(tok, n=1, seed=0)[0]
    else:
        x = tok("The capital of France is", return_tensors="pt").input_ids[0]
        y, subj = answer_id(tok, " Paris"), find_span(x, tok(" France", add_special_tokens=False).input_ids)
    lay = layout(model)
    exact = lambda: causal_trace(model, x, subj, y, samples=a.samples)
    attr = lambda: attribution_patching(model, x, subj, y, samples=a.samples)
    te, ta = interleaved(exact, attr, repeats=a.repeats, warmup=1)
    rho = spearman(attr()[:, subj[0]:], exact().effect[:, subj[0]:], perms=0).rho
    print(f"model {a.model}: {lay.n_layers} layers x {len(x)} tokens = {lay.n_layers * len(x)} sites, {a.samples} noise samples, "
          f"{a.repeats} repeats")
    print(f"exact patching        median {te * 1e3:9.1f} ms")
    print(f"attribution patching  median {ta * 1e3:9.1f} ms")
    print(f"ratio attribution / exact: {ta / te:.3f}   (Spearman rho of the two over the sites from the subject on: {rho:.3f})")


if __name__ == "__main__":
    main()
