"""Cost of the hooks and of DAS on a real 1.5B-parameter model, in bfloat16 and float32, each measured in one run.

    python bench/real.py [--model qwen2.5-coder-1.5b-instruct] [--batch 4] [--tokens 64] [--repeats 3]

For each dtype a fresh process (so its peak resident memory is its own) loads the model (`make real-models` fetches
it) and times, interleaved: a plain forward of `batch` x `tokens` random tokens against the same forward while
`capture` records every block's output; and one DAS training step (a Boundless rotation of the middle block's output at
the last token: the source run up to the site, the base run with the interchange, a backward into the
intervention, an Adam step) against a plain forward + backward of the same batch into every weight. It prints
milliseconds per token, the ratios, and the peak RSS. The dtype ratio (float32 / bfloat16) is printed last.

What to expect on a GPU: bfloat16 is the native format of the tensor cores, so the dtype ratio is larger there,
and memory is the GPU's (peak allocated, not RSS); the ratios of capture and DAS to a plain pass should hold.
"""
import argparse, json, resource, subprocess, sys, time
import torch
from timing import das_step, interleaved


def measure(a):
    from interp_nbs.checkpoints import load
    from interp_nbs.hooks import capture
    from interp_nbs.layout import layout
    from interp_nbs import das
    torch.manual_seed(0); torch.set_num_threads(1)
    t0 = time.time()
    model, tok = load(a.model, dtype=getattr(torch, a.dtype))
    load_s = time.time() - t0
    lay, g = layout(model), torch.Generator().manual_seed(0)
    V, B, T = model.config.vocab_size, a.batch, a.tokens
    ids = lambda: torch.randint(1000, min(V, 100_000), (B, T), generator=g)
    base, source = ids(), ids()                                                  # [batch, tokens]
    pos = torch.full((B, 1), T - 1)                                              # [batch, 1]: the last token
    b = dict(base=dict(input_ids=base, attention_mask=torch.ones_like(base)), source=dict(input_ids=source, attention_mask=torch.ones_like(source)),
             base_pos=pos, source_pos=pos, base_len=torch.full((B,), T), labels=torch.randint(1000, 2000, (B,), generator=g))
    params = list(model.parameters())

    def plain():
        with torch.no_grad(): model(**b["base"])

    def captured():
        with torch.no_grad(), capture(model, lay.blocks): model(**b["base"])
    t_cap, t_fwd = interleaved(captured, plain, repeats=a.repeats, warmup=1)

    s = das.site(model, lay.n_layers // 2, ("last",))
    iv = das.intervention(das.Boundless, s).to(model.dtype)
    step = das_step(model, s, iv, b)

    def train_step():
        for p in params: p.requires_grad_(True)
        out = model(**b["base"]).logits[:, -1]
        torch.nn.functional.cross_entropy(out.float(), b["labels"]).backward()
        model.zero_grad(set_to_none=True)
    t_das, t_train = interleaved(step, train_step, repeats=a.repeats, warmup=1)
    n = B * T
    return dict(dtype=a.dtype, load_s=round(load_s, 1), fwd_ms_tok=1e3 * t_fwd / n, capture_ms_tok=1e3 * t_cap / n,
                das_ms_tok=1e3 * t_das / n, train_ms_tok=1e3 * t_train / n,
                peak_rss_gb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="qwen2.5-coder-1.5b-instruct")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--dtype", default=None, help="internal: measure one dtype in this process")
    a = ap.parse_args()
    if a.dtype: return print(json.dumps(measure(a)))
    res = {}
    for dt in ("bfloat16", "float32"):
        run = subprocess.run([sys.executable, __file__, *sys.argv[1:], "--dtype", dt], capture_output=True, text=True)
        if run.returncode: sys.exit(f"{dt} run failed:\n{run.stderr[-3000:]}")
        r = res[dt] = json.loads(run.stdout.strip().splitlines()[-1])
        print(f"{a.model} {dt} batch {a.batch}x{a.tokens}: load {r['load_s']} s, peak RSS {r['peak_rss_gb']:.1f} GB; "
              f"forward {r['fwd_ms_tok']:.2f} ms/token, capture of every block {r['capture_ms_tok']:.2f} "
              f"(ratio {r['capture_ms_tok'] / r['fwd_ms_tok']:.2f}); DAS step {r['das_ms_tok']:.2f} ms/token vs forward+backward "
              f"{r['train_ms_tok']:.2f} (ratio {r['das_ms_tok'] / r['train_ms_tok']:.2f})")
    f, h = res["float32"], res["bfloat16"]
    print(f"float32 / bfloat16: forward {f['fwd_ms_tok'] / h['fwd_ms_tok']:.1f}x, DAS step {f['das_ms_tok'] / h['das_ms_tok']:.1f}x, "
          f"peak RSS {f['peak_rss_gb'] / h['peak_rss_gb']:.1f}x")


if __name__ == "__main__":
    main()
