"""The server runs native numeric calls (FAISS, OpenBLAS) on one thread each unless the environment says otherwise."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from app import NATIVE_THREAD_VARIABLES

ROOT = Path(__file__).resolve().parents[2]
# What a fresh server process does: numpy is loaded by the imports, FAISS later by the lifespan.
PROBE = """
import json, app
applied = app.limit_native_threads()
import faiss, threadpoolctl
print(json.dumps({"applied": applied, "pools": [p["num_threads"] for p in threadpoolctl.threadpool_info()]}))
"""


def _probe(**env: str) -> dict[str, Any]:
    clean = {k: v for k, v in os.environ.items() if k not in NATIVE_THREAD_VARIABLES}
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env={**clean, **env}, cwd=ROOT, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_every_native_thread_pool_is_limited_to_one_thread_by_default() -> None:
    found = _probe()
    assert found["applied"] == 1
    assert len(found["pools"]) >= 2  # numpy's OpenBLAS and FAISS's OpenMP at least
    assert set(found["pools"]) == {1}


def test_an_operator_setting_is_kept() -> None:
    found = _probe(OMP_NUM_THREADS="2", OPENBLAS_NUM_THREADS="2")
    assert found["applied"] == 2
    assert set(found["pools"]) == {2}
