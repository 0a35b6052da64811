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
