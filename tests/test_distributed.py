"""Distributed hooks on 2 local gloo ranks, checked against the single-process model with the same hook API.

The notebook `22_distributed` runs the same checks on OPT; these use the Llama architecture (rotary
positions, grouped projections, a gate in the FFN), so both families are covered.
"""
import copy
import multiprocessing as mp
import pytest
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.distributed.tensor import DTensor

from interp_nbs.layout import layout, module
from interp_nbs.hooks import hook_count, main_tensor, capture, edit, edit_grads
from interp_nbs.edits import ablate_heads, edit_heads, attention_patterns
from interp_nbs.placement import placement, unwrap
from interp_nbs.world import make_model, world_tokenizer, corpus, encode_rows
from interp_nbs.icl import ICL
from interp_nbs.distributed import launch, RankError, local_rows, split, backward

TOK = world_tokenizer(ICL)
MODEL = make_model("llama", TOK, seed=3)       # built before forking: the ranks inherit it
EAGER = copy.deepcopy(MODEL)                   # eager attention returns the patterns `attention_patterns` reads
EAGER.set_attn_implementation("eager")
LAY = layout(MODEL)
IDS = encode_rows(TOK, corpus(ICL, 6, seed=5))[0][:, :40]
NAMES = [LAY.blocks[0], LAY.attn[0] + ".k_proj", LAY.out_proj[1], LAY.ffn[1] + ".up_proj", LAY.ffn[1], LAY.unembed]
torch.manual_seed(1)
STEER = torch.randn(MODEL.config.hidden_size)
TOL = 1e-5


def batch(kind): return local_rows(IDS) if kind == "fsdp" else IDS


def loss_of(logits, x): return F.cross_entropy(logits[:, :-1].flatten(0, 1), x[:, 1:].flatten(), reduction="sum")


def forward_backward(m, x):
    out = m(x)
    backward(m, None if out is None else loss_of(out.logits, x))


def steer(x): return x + STEER


def swap_heads(z): return z.flip(2)           # per-head edit that mixes heads held by different TP ranks


def hooked(kind):
    m = split(MODEL, kind)
    x = batch(kind)
    runs = {"steer": 0}
    def counted(t): runs["steer"] += 1; return steer(t)
    with capture(m, NAMES, input=True, grad=True) as t: forward_backward(m, x)
    with edit(m, {LAY.blocks[0]: counted}), capture(m, [LAY.blocks[1], LAY.unembed], grad=True) as e:
        forward_backward(m, x)
    with edit_heads(m, {1: swap_heads}), capture(m, LAY.unembed) as h, torch.no_grad(): m(x)
    with ablate_heads(m, {0: [0, 3]}), capture(m, LAY.unembed) as a, torch.no_grad(): m(x)
    rec = lambda r: (r.input, r.output, r.grad, r.calls)
    return ({n: rec(t[n]) for n in NAMES}, {n: rec(e[n]) for n in e}, h[LAY.unembed].output,
            a[LAY.unembed].output, runs["steer"])


@pytest.fixture(scope="module")
def reference():
    m = MODEL
    with capture(m, NAMES, input=True, grad=True) as t: forward_backward(m, IDS)
    with edit(m, {LAY.blocks[0]: steer}), capture(m, [LAY.blocks[1], LAY.unembed], grad=True) as e:
        forward_backward(m, IDS)
    with edit_heads(m, {1: swap_heads}), torch.no_grad(): swapped = m(IDS).logits
    with ablate_heads(m, {0: [0, 3]}), torch.no_grad(): ablated = m(IDS).logits
    m.zero_grad(set_to_none=True)
    return t, e, swapped, ablated


def maxdiff(a, b): return (a - b).abs().max().item()


@pytest.mark.parametrize("kind", ["tp", "fsdp", "pipe"])
def test_gathered_activations_grads_and_edits_equal_single_process(kind, reference):
    t, e, swapped, ablated = reference
    res = launch(hooked, kind)
    for rank, (recs, erecs, sw, ab, runs) in enumerate(res):
        for n in NAMES:
            i, o, g, calls = recs[n]
            assert calls == t[n].calls == 1
            assert i.shape == t[n].input.shape and o.shape == t[n].output.shape and g.shape == t[n].grad.shape
            d = maxdiff(i, t[n].input), maxdiff(o, t[n].output), maxdiff(g, t[n].grad)
            assert max(d) <= TOL, (rank, n, d)
        for n in e:
            assert maxdiff(erecs[n][1], e[n].output) <= TOL and maxdiff(erecs[n][2], e[n].grad) <= TOL, (rank, n)
        assert maxdiff(sw, swapped) <= TOL and maxdiff(ab, ablated) <= TOL
        # the edit is real: it changed the logits by far more than the tolerance
        assert maxdiff(erecs[LAY.unembed][1], t[LAY.unembed].output) > 1e-2
    worst = {"act": max(maxdiff(r[0][n][1], t[n].output) for r in res for n in NAMES),
             "input": max(maxdiff(r[0][n][0], t[n].input) for r in res for n in NAMES),
             "grad": max(maxdiff(r[0][n][2], t[n].grad) for r in res for n in NAMES),
             "edited logits": max(maxdiff(r[1][LAY.unembed][1], e[LAY.unembed].output) for r in res),
             "edited grads": max(maxdiff(r[1][n][2], e[n].grad) for r in res for n in e)}
    print(kind, {k: f"{v:.1e}" for k, v in worst.items()})
    steer_runs = [r[4] for r in res]
    # gathering hooks must run equally often on every rank; a pipeline runs it on the owning stage only
    assert steer_runs == ([1, 1] if kind != "pipe" else [1, 0])


def patterns(kind):
    m = split(EAGER, kind)
    return attention_patterns(m, batch(kind))


@pytest.mark.parametrize("kind", ["tp", "fsdp", "pipe"])
def test_attention_patterns_are_whole_and_equal_single_process(kind):
    "Each TP rank computes its heads' patterns, each FSDP rank its rows, each stage its blocks': every rank gets them all."
    ref = attention_patterns(EAGER, IDS)                        # [layers, batch, heads, query, key]
    assert ref.shape == (LAY.n_layers, IDS.shape[0], LAY.n_heads, IDS.shape[1], IDS.shape[1])
    for rank, p in enumerate(launch(patterns, kind)):
        assert p.shape == ref.shape, (kind, rank, tuple(p.shape))
        assert maxdiff(p, ref) <= TOL, (kind, rank, maxdiff(p, ref))
    assert hook_count(EAGER) == 0


def weights(m):
    return {n: (p.full_tensor() if isinstance(p, DTensor) else p).detach().clone()
            for n, p in m.named_parameters() if p.device.type != "meta"}


def unwrapped(kind):
    m = split(MODEL, kind); hf = unwrap(m)
    x = batch(kind)
    before, others = weights(hf), hook_count(hf, everyone=True)
    with torch.no_grad(): out0 = m(x)
    with capture(m, NAMES, grad=True), edit(m, {LAY.blocks[1]: steer}), ablate_heads(m, {1: [2]}):
        forward_backward(m, x)
    try:                                          # bad input: refused before anything is attached
        with capture(m, [LAY.blocks[0], LAY.blocks[0] + ".mpl"]): pass
    except KeyError as err: msg = str(err)
    with torch.no_grad(): out1 = m(x)
    after = weights(hf)
    same_w = before.keys() == after.keys() and all(torch.equal(after[n], w) for n, w in before.items())
    return (hook_count(hf), hook_count(hf, everyone=True) - others, same_w,
            out0 is None or torch.equal(out0.logits, out1.logits), msg)


@pytest.mark.parametrize("kind", ["tp", "fsdp", "pipe"])
def test_unwrap_leaves_no_hook_same_weights_same_outputs(kind):
    for ours, extra, same_w, same_out, msg in launch(unwrapped, kind):
        assert (ours, extra, same_w, same_out) == (0, 0, True, True)
        assert f"closest: {LAY.blocks[0]}.mlp" in msg


def _raise_on_rank_1(x):
    if dist.get_rank() == 1: raise ZeroDivisionError("bug in rank 1")
    return x


def faulty():
    m = split(MODEL, "tp")
    with edit(m, {LAY.blocks[0]: _raise_on_rank_1}): m(IDS)


def test_a_rank_raising_in_a_hook_stops_every_rank():
    with pytest.raises(RankError) as err:
        launch(faulty, timeout=90)             # a hang would raise TimeoutError instead
    msg = str(err.value)
    assert msg.startswith("rank 1 of 2 failed")
    assert f"rank 1: the edit function of '{LAY.blocks[0]}' raised ZeroDivisionError: bug in rank 1" in msg
    assert not mp.active_children()


def stuck():
    "Rank 1 never reaches the collective (as if stuck in a hook); the process-group timeout ends rank 0's wait."
    if dist.get_rank() == 1:
        import time; time.sleep(60)
    dist.all_reduce(torch.zeros(1))


def test_a_rank_stuck_outside_a_collective_fails_the_others_fast():
    with pytest.raises(RankError) as err:
        launch(stuck, timeout=90, pg_timeout=3)
    assert str(err.value).startswith("rank 0 of 2 failed")
    assert not mp.active_children()


def unequal():
    "Data parallel with DDP: rank 0 runs the final norm once more inside `capture`."
    from torch.nn.parallel import DistributedDataParallel as DDP
    m = DDP(MODEL)
    assert placement(m).kind == "dp"
    with capture(m, LAY.final_norm):
        with torch.no_grad():
            m(local_rows(IDS))
            if dist.get_rank() == 0: module(m.module, LAY.final_norm)(torch.zeros(1, 2, MODEL.config.hidden_size))


def test_hooks_firing_unequally_across_ranks_is_an_error_not_a_hang():
    with pytest.raises(RankError) as err:
        launch(unequal, timeout=90)
    assert "hooks ran unequally across ranks" in str(err.value) and f"'{LAY.final_norm}': [2, 1]" in str(err.value)


def ddp_capture():
    from torch.nn.parallel import DistributedDataParallel as DDP
    m = DDP(MODEL)
    with capture(m, [LAY.ffn[1]], grad=True, dst=0) as t: forward_backward(m, local_rows(IDS))
    return t[LAY.ffn[1]].output, t[LAY.ffn[1]].grad


def test_ddp_batch_split_gathers_to_rank_0(reference):
    t = reference[0]
    (o0, g0), (o1, g1) = launch(ddp_capture)
    assert o1 is None and g1 is None             # dst=0: the other ranks drop their copy
    assert maxdiff(o0, t[LAY.ffn[1]].output) <= TOL and maxdiff(g0, t[LAY.ffn[1]].grad) <= TOL


def test_launch_with_spawn_runs_importable_functions():
    "spawn (needed where fork is unsafe) pickles `fn` by name; a torch function keeps the child's imports small."
    assert launch(dist.get_rank, start="spawn", timeout=120) == [0, 1]


TORCHRUN_SCRIPT = '''
import sys, torch, torch.distributed as dist, torch.nn.functional as F
from interp_nbs.world import make_model, world_tokenizer, corpus, encode_rows
from interp_nbs.icl import ICL
from interp_nbs.distributed import join_group, tensor_parallel
from interp_nbs.hooks import capture
join_group(timeout=30)
tok = world_tokenizer(ICL)
ids = encode_rows(tok, corpus(ICL, 6, seed=5))[0][:, :40]
m = tensor_parallel(make_model("llama", tok, seed=3))
names = sys.argv[2].split(",")
with capture(m, names, grad=True, dst=0) as t:
    F.cross_entropy(m(ids).logits[:, :-1].flatten(0, 1), ids[:, 1:].flatten(), reduction="sum").backward()
if dist.get_rank() == 0: torch.save({n: (t[n].output, t[n].grad) for n in names}, sys.argv[1])
dist.destroy_process_group()
'''


def test_torchrun_script_gives_the_same_records(tmp_path, reference):
    "The path a multi-node job takes: torchrun starts the ranks, the script calls `join_group()`."
    import os, subprocess, sys
    from interp_nbs.procs import free_port
    t = reference[0]
    script, out = tmp_path / "job.py", tmp_path / "records.pt"
    script.write_text(TORCHRUN_SCRIPT)
    names = [LAY.blocks[0], LAY.attn[0] + ".k_proj", LAY.unembed]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc-per-node", "2",
           "--master-addr", "127.0.0.1", "--master-port", str(free_port()), str(script), str(out), ",".join(names)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(sys.path)}
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    recs = torch.load(out)
    for n in names:
        assert maxdiff(recs[n][0], t[n].output) <= TOL and maxdiff(recs[n][1], t[n].grad) <= TOL, n


def mix_grad(g): return g.clamp(-1e-3, 1e-3) + 0.5 * g.flip(0) + 0.1 * g.roll(1, dims=-1)
GRAD_EDITED = [LAY.blocks[1], LAY.ffn[0] + ".gate_proj"]      # replicated / column-parallel gradients under TP


def grad_edited(kind):
    m = split(MODEL, kind)
    with edit_grads(m, {n: mix_grad for n in GRAD_EDITED}), capture(m, [LAY.blocks[0]], grad=True) as t:
        forward_backward(m, batch(kind))
    return t[LAY.blocks[0]].grad, hook_count(unwrap(m))


@pytest.mark.parametrize("kind", ["tp", "fsdp", "pipe"])
def test_gradient_edits_equal_raw_torch_tensor_hooks(kind, reference):
    def tensor_hook(m, args, out): main_tensor(out).register_hook(mix_grad)
    hs = [module(MODEL, n).register_forward_hook(tensor_hook) for n in GRAD_EDITED]
    try:
        with capture(MODEL, [LAY.blocks[0]], grad=True) as ref: forward_backward(MODEL, IDS)
    finally:
        for h in hs: h.remove()
    MODEL.zero_grad(set_to_none=True)
    assert maxdiff(ref[LAY.blocks[0]].grad, reference[0][LAY.blocks[0]].grad) > 1e-2     # the edit matters
    for g, n_hooks in launch(grad_edited, kind):
        assert maxdiff(g, ref[LAY.blocks[0]].grad) <= TOL and n_hooks == 0
