"""HNSW efSearch curve: CPU per search against recall of the exact nearest neighbours, on clustered vectors.

    python -m bench.hnsw_ef [--vectors 350000] [--spread 1.0] [--query-noise 0.88] [--ef 20,24,32,40,48,64,96]

The graph is built as the knowledge base builds it (`FaissVectorIndex.create` with the expected size: 8-bit
codes from `SQ8_MIN_VECTORS`), searched one query at a time for the KB's `N_DENSE` neighbours. Points are
topic centres plus a random offset (`--spread` 1.0: members of a topic have cosine about 0.5), queries a
document plus noise (`--query-noise` 0.88: cosine about 0.75 with it). Recall: the share of the exact top 1,
top 3 and top 10 (over the stored, decoded vectors) found among the neighbours returned.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Sequence

import numpy as np


def main(argv: Sequence[str] | None = None) -> int:
    """Build one graph and print CPU and recall per efSearch."""
    parser = argparse.ArgumentParser(prog="python -m bench.hnsw_ef", description=__doc__.splitlines()[0])
    parser.add_argument("--vectors", type=int, default=350_000)
    parser.add_argument("--spread", type=float, default=1.0)
    parser.add_argument("--query-noise", type=float, default=0.88)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--ef", default="20,24,32,40,48,64,96")
    args = parser.parse_args(argv)

    from app import limit_native_threads
    from assistant.embedding import normalize_rows
    from knowledge_base import vector_index
    from knowledge_base.features import N_DENSE

    limit_native_threads()
    n, dim = args.vectors, 384
    rng = np.random.default_rng(0)
    centres = normalize_rows(rng.standard_normal((max(n // 50, 10), dim)))
    x = normalize_rows(
        centres[rng.integers(0, len(centres), n)] + normalize_rows(rng.standard_normal((n, dim))) * args.spread
    )
    source = rng.integers(0, n, args.queries)
    queries = normalize_rows(x[source] + normalize_rows(rng.standard_normal((args.queries, dim))) * args.query_noise)
    start = time.perf_counter()
    index = vector_index.FaissVectorIndex.create(dim, expected_size=n).with_vectors(np.arange(n), x)
    print(f"{n:,} vectors, {index.kind}, built in {time.perf_counter() - start:.0f} s", flush=True)
    sims = queries @ index.vectors(np.arange(n)).T
    exact = np.argsort(-sims, axis=1)[:, :10]
    print(
        f"query cosine with its source {np.mean(np.sum(queries * x[source], axis=1)):.2f}, "
        f"with its 10th exact neighbour {np.mean(np.take_along_axis(sims, exact[:, 9:], 1)):.2f}"
    )
    for ef in (int(e) for e in args.ef.split(",")):
        vector_index.HNSW_EF_SEARCH = ef
        cpu, found = [], []
        for row in queries:
            start_cpu = time.thread_time()
            found.append(set(index.search(row[None, :], N_DENSE)[1][0].tolist()))
            cpu.append((time.thread_time() - start_cpu) * 1000)
        recall = [
            np.mean([len(set(e[:k].tolist()) & f) / k for e, f in zip(exact, found, strict=True)]) for k in (1, 3, 10)
        ]
        print(
            f"efSearch {ef}: CPU mean {np.mean(cpu):.3f} ms, p95 {np.percentile(cpu, 95):.3f} ms; exact top 1 / 3 / 10 "
            f"found {recall[0]:.3f} / {recall[1]:.3f} / {recall[2]:.3f} (load {os.getloadavg()[0]:.1f})",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
