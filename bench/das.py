"""Cost of one DAS training step relative to a plain forward + backward of the base batch.

    python bench/das.py [--model llama-price] [--batch 32] [--repeats 30]

A DAS step (`interchange.loss_of` + backward + Adam step) runs the source batch up to the site (no gradient; the forward
stops there), the base batch with the interchange edit, and a backward into the intervention only: the model is
frozen, so no weight gradient is formed, and the backward stops at the site. The reference is the same base batch's
forward and backward into every model parameter, with the same loss (cross-entropy at the last token). Both are
timed interleaved in one process; the ratio of medians is printed for a site at the first and at the last block
(target <= 1.5).

What the figure is made of: the source forward is the floor (nothing at the first block beyond the embedding and
one block; almost a whole forward at the last block). Against it the DAS step saves the weight gradients (about
half of a backward) and, at a late site, most of the backward (it stops at the site). The rotations cost little
once each orthogonal weight is computed once per step (`parametrize.cached`); without that cache the first-block
ratio was 1.45. Measured on 2 shared cores, llama-price (2 blocks), batch 32: 1.19 at block 0, 1.05 at block 1.
"""
import argparse
import torch
from timing import das_step, interleaved
from interp_nbs.checkpoints import load
from interp_nbs.layout import layout
from interp_nbs import das, price


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="llama-price")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=30)
    a = ap.parse_args()
    torch.manual_seed(0); torch.set_num_threads(1)
    model, tok = load(a.model)
    data = price.counterfactuals(tok, a.batch, "left", seed=0)
    params = list(model.parameters())
    for layer in (0, layout(model).n_layers - 1):
        s = das.site(model, layer, ("Z", "Z+1", "Z+2"))
        iv = das.intervention(das.Boundless, s)
        b = das.collate(data[:a.batch], s)
        step = das_step(model, s, iv, b)

        def plain():
            for p in params: p.requires_grad_(True)
            out = model(**b["base"]).logits[torch.arange(a.batch), b["base_len"] - 1]
            loss = torch.nn.functional.cross_entropy(out, b["labels"])
            model.zero_grad(set_to_none=True); loss.backward()

        t_das, t_plain = interleaved(step, plain, repeats=a.repeats)
        print(f"{a.model} layer {layer} batch {a.batch}: DAS step {t_das * 1e3:.1f} ms, plain forward+backward "
              f"{t_plain * 1e3:.1f} ms, ratio {t_das / t_plain:.2f} (target <= 1.5)")
    for p in params: p.requires_grad_(True); p.grad = None


if __name__ == "__main__":
    main()
