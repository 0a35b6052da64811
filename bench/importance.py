"""Cost of head-importance accumulation relative to a plain forward + backward on the same batch.

    python bench/importance.py [--model opt-icl] [--shots 8] [--batch 32] [--repeats 20]

Head importance runs the forward under a differentiable per-example head mask (`[batch, layers, heads]`, a hook
on each layer's output projection) and differentiates the sum of the per-example answer losses with respect to
that mask in one backward pass. The reference is the same forward and a `backward()` of the same loss into the
model's parameters, without hooks. Both are timed interleaved in one
process; the ratio of medians is printed (target <= 1.15).
"""
import argparse
import torch
from timing import interleaved
from interp_nbs.checkpoints import load
from interp_nbs.icl_tasks import Evaluator
from interp_nbs.importance import answer_loss, head_importance


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="opt-icl")
    ap.add_argument("--task", default="icl_pairs")
    ap.add_argument("--shots", type=int, default=8)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=20)
    a = ap.parse_args()
    torch.manual_seed(0)
    model, tok = load(a.model)
    pairs = Evaluator(model, tok, tasks=[a.task]).requests(a.task, shots=a.shots, n=a.batch, split="train")

    def plain():
        model.zero_grad(set_to_none=True)
        answer_loss(model, tok, pairs, per_example=True).sum().backward()

    def importance():
        head_importance(model, tok, pairs, batch_size=a.batch, progress=False)

    p, i = interleaved(plain, importance, repeats=a.repeats)
    model.zero_grad(set_to_none=True)
    print(f"model {a.model}, task {a.task}, {a.shots} shots, batch {len(pairs)}, {a.repeats} repeats")
    print(f"plain forward+backward   median {p * 1e3:8.2f} ms  ({p / len(pairs) * 1e3:.3f} ms/example)")
    print(f"head importance          median {i * 1e3:8.2f} ms  ({i / len(pairs) * 1e3:.3f} ms/example)")
    print(f"ratio importance/plain: {i / p:.3f} (target <= 1.15)")


if __name__ == "__main__":
    main()
