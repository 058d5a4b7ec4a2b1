# SPDX-License-Identifier: BSD-3-Clause
"""One linear fit bigger than memory: a Dask array and a memory-mapped file.

Run ``python benchmarks/bench_scale.py [--rows 20000000]``. Writes a float32
table of ``rows`` x 50 to a temporary ``.npy`` file (4 GB at 20 M rows), then
measures, side by side in one run:

1. ``LinearELRClassifier`` on it as a Dask array (row chunks of 1 M, read
   from the file by the workers of a 2-process ``LocalCluster``): time per
   epoch, and the peak RSS of the client process;
2. the same file as a ``np.memmap`` in this process (never copied): time per
   epoch, and the anonymous memory this process holds after the fit (the
   file's pages are the page cache's, not the process's);
3. the in-memory fit of the first 10 % of the rows, whose epoch time scaled
   by 10 is the reference.

Epoch times are the median gap between the per-epoch callbacks (fixed
``lam=3``, 4 epochs, ``tol=None``). Writes
``benchmarks/results/scale.md``.
"""

import argparse
import multiprocessing
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from sklearn_elr import LinearELRClassifier

N_FEATURES, CHUNK = 50, 1_000_000
RESULTS = Path(__file__).parent / "results"


def _write(path, n_rows):
    """The table and its labels (a noisy linear teacher), written in slabs.

    Run in a child process, so that writing 4 GB leaves no mark on this
    process's peak memory. The labels go to ``path + ".y.npy"``.
    """
    rng = np.random.default_rng(0)
    X = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n_rows, N_FEATURES))
    y = np.empty(n_rows, dtype=np.int64)
    w = rng.normal(size=N_FEATURES)
    for start in range(0, n_rows, CHUNK):
        block = rng.normal(size=(min(CHUNK, n_rows - start), N_FEATURES)).astype(np.float32)
        X[start : start + len(block)] = block
        logits = block @ w + rng.normal(scale=2.0, size=len(block))
        y[start : start + len(block)] = logits > 0
    X.flush()
    del X
    np.save(path + ".y.npy", y)


class _EpochClock:
    """A ``callback`` recording when each epoch ends."""

    def __init__(self):
        self.stamps = []

    def __call__(self, estimator, epoch, coef, intercept):
        self.stamps.append(time.perf_counter())

    def epoch_s(self):
        return float(np.median(np.diff(self.stamps)))


def _fit(X, y):
    clock = _EpochClock()
    start = time.perf_counter()
    model = LinearELRClassifier(lam=3.0, max_iter=4, tol=None, random_state=0, callback=clock)
    model.fit(X, y)
    return model, clock.epoch_s(), time.perf_counter() - start


def _load_rows(path, start, stop):
    return np.load(path, mmap_mode="r")[start:stop]


def _anonymous_mib():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20_000_000)
    args = parser.parse_args()
    n_rows = args.rows
    import dask
    import dask.array as da
    import distributed

    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "X.npy")
        start = time.perf_counter()
        writer = multiprocessing.get_context("spawn").Process(target=_write, args=(path, n_rows))
        writer.start()
        writer.join()
        y = np.load(path + ".y.npy")
        print(
            f"wrote {n_rows:,} x {N_FEATURES} float32 in {time.perf_counter() - start:.0f} s",
            flush=True,
        )

        # 1. Dask: workers read their row chunks from the file
        chunks = [
            da.from_delayed(
                dask.delayed(_load_rows)(path, s, min(s + CHUNK, n_rows)),
                shape=(min(s + CHUNK, n_rows) - s, N_FEATURES),
                dtype=np.float32,
            )  # fmt: skip
            for s in range(0, n_rows, CHUNK)
        ]
        X_dask = da.concatenate(chunks)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        with distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
            memory_limit="8GiB",
        ) as cluster, distributed.Client(cluster):  # fmt: skip
            dask_model, dask_epoch, dask_total = _fit(X_dask, y)
        client_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        # 3. the in-memory reference on 10 % of the rows
        part = n_rows // 10
        X_part = np.array(np.load(path, mmap_mode="r")[:part])
        _, part_epoch, _ = _fit(X_part, y[:part])
        del X_part

        # 2. memmap in this process
        X_map = np.load(path, mmap_mode="r")
        anon_before = _anonymous_mib()
        map_model, map_epoch, map_total = _fit(X_map, y)
        anon_after = _anonymous_mib()
        agree = np.abs(dask_model.coef_ - map_model.coef_).max()

    scaled = part_epoch * 10
    lines = [
        f"# One linear fit on {n_rows:,} x {N_FEATURES} float32 ({n_rows * N_FEATURES * 4 / 2**30:.1f} GiB)\n",
        "LinearELRClassifier(lam=3, max_iter=4, tol=None); epoch = median gap between "
        "epochs; one run, side by side, on this machine.\n",
        "| path | s per epoch | vs in-memory epoch x 10 | whole fit s | memory |",
        "|---|---|---|---|---|",
        f"| in memory, first {part:,} rows | {part_epoch:.2f} | (x 10 = {scaled:.2f}) | | |",
        f"| Dask array, 1 M-row chunks, 2 worker processes | {dask_epoch:.2f} | "
        f"{dask_epoch / scaled:.2f}x | {dask_total:.0f} | client peak RSS {client_peak:,.0f} MiB "
        f"(before the fit {rss_before:,.0f}) |",
        f"| np.memmap, this process | {map_epoch:.2f} | {map_epoch / scaled:.2f}x | {map_total:.0f} | "
        f"anonymous memory {anon_before:,.0f} -> {anon_after:,.0f} MiB |",
        "",
        f"The two fits of all rows agree to {agree:.1e} (largest coefficient difference).",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "scale.md").write_text(text)


if __name__ == "__main__":
    main()
