"""Throughput of the prompt sampler (numeric/prompts.py); prints a Markdown table.

    python benchmarks/sampler.py              # d = 1, 2, 4, 8; float64 and float32
    python benchmarks/sampler.py --threads 2

A chain is one of the n + 1 chains of a prompt (n context chains + the query), so a
batch of B prompts is B (n + 1) chains; the time includes the kernels, the initial
states, the d transitions and the assembly of Z0 and y. Target (issue 4): at least
1e6 chains per second on CPU for d = 4.
"""

from __future__ import annotations

import argparse
import time

import torch

from markov_icl.numeric.prompts import sample_prompts
from markov_icl.symbolic.laws import ChainLaw, InitLaw, KernelLaw


def chains_per_second(law: ChainLaw, d: int, n: int, batch: int, dtype: torch.dtype, repeats: int) -> float:
    """Best of ``repeats`` timed calls (after one warm-up), in chains per second."""
    gen = torch.Generator().manual_seed(0)
    sample_prompts(law, d, n, batch, generator=gen, dtype=dtype)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        sample_prompts(law, d, n, batch, generator=gen, dtype=dtype)
        best = min(best, time.perf_counter() - t)
    return batch * (n + 1) / best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100, help="context chains per prompt (default 100)")
    ap.add_argument("--batch", type=int, default=10_000, help="prompts per call (default 10000)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    laws = {
        "iid p=1/2, uniform kernel": ChainLaw.default("1/2"),
        "example_c5 p=1/3, beta kernel": ChainLaw(InitLaw.example_c5("1/3"), KernelLaw.beta(2, 2, 1, 3)),
    }
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, n = {args.n}, "
          f"batch = {args.batch} prompts ({args.batch * (args.n + 1)} chains per call)\n")
    print("| law | d | dtype | chains / s | target |")
    print("|---|---:|---|---:|---|")
    for name, law in laws.items():
        for d in (1, 2, 4, 8):
            for dtype in (torch.float64, torch.float32):
                rate = chains_per_second(law, d, args.n, args.batch, dtype, args.repeats)
                target = ">= 1e6" if d == 4 else ""
                print(f"| {name} | {d} | {str(dtype).removeprefix('torch.')} | {rate:.3g} | {target} |")


if __name__ == "__main__":
    main()
