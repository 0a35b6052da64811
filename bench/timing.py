"Shared timing for the benchmarks: two functions timed interleaved in one process, medians compared."
import statistics, time


def interleaved(a, b, repeats:int=20, warmup:int=3):
    "Median seconds of `a()` and of `b()`, timed alternately so machine load hits both alike."
    for _ in range(warmup): a(); b()
    ta, tb = [], []
    for _ in range(repeats):
        t0 = time.perf_counter(); a(); ta.append(time.perf_counter() - t0)
        t0 = time.perf_counter(); b(); tb.append(time.perf_counter() - t0)
    return statistics.median(ta), statistics.median(tb)


def das_step(model, site, iv, batch, lr:float=1e-3):
    "One DAS training step as a closure: the model frozen, the interchange loss, a backward into `iv` only, an Adam step."
    from interp_nbs.interchange import loss_of
    params, opt = list(model.parameters()), __import__("torch").optim.Adam(iv.parameters(), lr=lr)

    def step():
        for p in params: p.requires_grad_(False)
        loss = loss_of(model, site, iv, batch)
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
    return step
