"""Every size option has a limit decided before any work: the commands that used to crash, hang or eat
memory now end in one ``markov-icl: error:`` line and exit 2 (exit 1 for diverged training), or give a
correct result, within seconds and under 1 GiB (peak resident memory of the process, from ``wait4``)."""

import json
import subprocess
import sys
from fractions import Fraction

import pytest
import sympy as sp

NINES = "9" * 4000
OUT = "{out}"

#: (arguments, exit status, a phrase of the one error line); these are the commands of the hardening issue
REFUSED = [
    ("objective --d 40 --p 1/2 --n 5", 2, "above objective's limit 14"),
    ("objective --d 7", 2, "above objective's limit 6 for symbolic p or n"),
    ("objective --d 99999999999999999999999 --p 1/2 --n 5", 2, "--max-d"),
    (f"objective --d {NINES} --p 1/2 --n 5", 2, "at most 30 digits"),
    ("objective --d 15 --p 1/2 --n 5", 2, "about 3 min"),
    ("objective --d 5000 --max-d 5000 --p 1/2 --n 5", 2, "--max-d must be an integer in 1 .. 20"),
    (f"experiment fig5 --ds 1-30 --max-d 30 --out {OUT}", 2, "--max-d must be at most 20"),
    ("objective --d 3 --states 6 --kernel dirichlet:1 --n 5", 2, "limit 1 for 6 states"),
    ("objective --d 5 --states 3 --kernel dirichlet:1 --n 5", 2, "limit 4 for 3 states"),
    (f"experiment fig2 --d 100000 --steps 1 --out {OUT}", 2, "--d must be at most 64"),
    (f"experiment fig3 --d 100000 --steps 1 --out {OUT}", 2, "--d must be at most 64"),
    (f"experiment fig2 --layers 1000000 --steps 1 --out {OUT}", 2, "--layers must be at most 64"),
    (f"experiment fig3 --states 1000000 --out {OUT}", 2, "at most 6 states"),
    ("realize --d 2 --p 1/2 --n 5 --starts 100000000", 2, "--starts must be at most 4096"),
    (f"experiment fig5 --ds 1-100000 --out {OUT}", 2, "above fig5's limit 10"),
    (f"experiment fig5 --ds 1-99999999999999999999 --out {OUT}", 2, "above fig5's limit 10"),
    (f"experiment fig4 --dataset-size 1000000000 --out {OUT}", 2, "--dataset-size: a batch of prompts"),
    (f"experiment fig5 --eval-prompts 1000000000 --out {OUT}", 2, "--eval-prompts: a batch of prompts"),
    (f"experiment fig3 --eval 1000000000 --out {OUT}", 2, "--eval: a batch of prompts"),
    ("verify --d 1 --p 1/2 --n 100000 --batch 1 --steps 1 --mc-samples 20000", 2, "--mc-samples 9999 or fewer"),
    ("verify --d 1 --p 1/2 --n 10 --batch 16000000 --steps 1", 2, "--batch: a batch of prompts"),
    ("verify --d 1 --p 1/2 --n 10 --steps 99999999999", 2, "--steps must be at most"),
    (f"objective --d 1 --p 1/2 --n {NINES}", 2, "at most 50 digits"),
    (f"objective --d 1 --p 1/{NINES} --n 5", 2, "at most 50 digits"),
    (f"objective --d 1 --p 1/2 --n 5 --kernel beta:{NINES},1,1,1", 2, "at most 50 digits"),
    (f"derive theorem_3_3 --p 1/2 --n {NINES} --out {OUT}", 2, "at most 50 digits"),
    (f"realize --d 1 --p 1/2 --n {NINES}", 2, "at most 50 digits"),
    (f"experiment fig2 --steps 1 --seed 18446744073709551616 --out {OUT}", 2, "--seed must be < 2**63"),
    (f"experiment fig4 --steps 1 --seed 18446744073709551616 --out {OUT}", 2, "--seed must be < 2**63"),
    ("objective --d 1 --p 1/2 --n 5 --init correlated:1/4,0,0", 2, "impossible at n = 5"),
    ("objective --d 1 --p 1/2 --n 5 --init correlated:1/4,1/4,1/4", 2, "impossible at n = 5"),
    ("objective --d 1 --n 5 --init correlated:1,1,1", 2, "needs a numeric p"),
    ("verify --d 1 --p 1/2 --n 10 --lr 1e308 --json --steps 5", 1, "training diverged"),
    ("verify --d 1 --p 1/2 --n 10 --init-scale 1e308 --json --steps 5", 1, "training diverged"),
    ("verify --d 1 --p 1/2 --n 10 --lr nan", 2, "expected a finite number"),
    (f"experiment fig3 --alpha 1e308 --steps 2 --seeds 1 --states 3 --layers 1 --eval 100 --out {OUT}", 2,
     "--alpha must be at most"),
    ("objective --d 1 --n 5 --states 3 --kernel dirichlet:1 --p abc", 2, "leave p out"),
    ("objective --d 1 --n 5 --states 3 --kernel dirichlet:1 --p 3/2", 2, "leave p out"),
    (f"experiment fig4 --threads 1000 --steps 1 --out {OUT}", 2, "--threads must be between"),
    ("objective --d 2 --n 5 --kernel dirichlet:alpha", 2, "d = 1 only"),
    ("objective --d 2 --n 5 --states 3 --kernel dirichlet:alpha", 2, "d = 1 only"),
    ("experiment fig2 --steps 1 --out ''", 2, "--out must name a folder"),
    (f"experiment fig2 --steps 1 --out {'x' * 300}", 2, "File name too long"),
]


MEASURE = r"""
import os, resource, shlex, subprocess, sys, time
args = shlex.split(sys.argv[1])
t0 = time.perf_counter()
proc = subprocess.run([sys.executable, "-m", "markov_icl", *args], capture_output=True, text=True, cwd=sys.argv[2])
dt = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
sys.stdout.write(f"{proc.returncode}\n{dt}\n{rss}\n")
sys.stderr.write(proc.stdout + "\x00" + proc.stderr)
"""


def measured(args: str, cwd) -> tuple[int, str, str, float, int]:
    """(status, stdout, stderr, seconds, peak RSS bytes) of ``markov-icl ARGS`` in a measuring parent of its own."""
    m = subprocess.run([sys.executable, "-c", MEASURE, args, str(cwd)], capture_output=True, text=True, timeout=180)
    status, seconds, rss = m.stdout.split()
    out, err = m.stderr.split("\x00", 1)
    return int(status), out, err, float(seconds), int(rss)


@pytest.mark.parametrize("args,status,phrase", REFUSED, ids=[a[:60] for a, _, _ in REFUSED])
def test_refused_in_one_line_within_seconds_and_bounded_memory(args, status, phrase, tmp_path):
    args = args.replace(OUT, str(tmp_path / "o"))
    code, out, err, seconds, rss = measured(args, tmp_path)
    lines = err.strip().splitlines()
    assert code == status, err
    assert out == "" and len(lines) == 1 and lines[0].startswith("markov-icl: error: "), err
    assert phrase in lines[0], lines[0]
    assert len(lines[0]) < 400, "error lines quote at most ~80 characters of a bad value"
    assert seconds < 30 and rss < 2**30, (seconds, rss)
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir()), "nothing is written half-way"


def test_huge_n_is_solved_exactly_not_an_index_error(tmp_path):
    # realize at n = 10^30 used to end in an IndexError inside SymPy's field_isomorphism_pslq
    code, out, err, seconds, rss = measured("realize --d 1 --p 1/2 --n 1000000000000000000000000000000 --json",
                                            tmp_path)
    assert code == 0, err
    res = json.loads(out)
    # oracle: D = X2^2 - 4 X1 X3 of the X* from the paper's closed forms (Theorem 3.3), solved by SymPy
    X = published_x_star(sp.Rational(1, 2), sp.Integer(10) ** 30)
    assert Fraction(res["discriminant"]) == Fraction(str(X[1] ** 2 - 4 * X[0] * X[2]))
    assert res["realizable"] is bool(X[1] ** 2 - 4 * X[0] * X[2] >= 0) and res["sandwich"] is True
    assert seconds < 30 and rss < 2**30


def published_x_star(p, n):
    """X* = H^-1 beta from the paper's published d = 1 closed forms of H and beta (Theorem 3.3)."""
    from markov_icl.derivations.theorem_3_3 import PUBLISHED_BETA, PUBLISHED_H
    from markov_icl.symbolic.laws import N_SYMBOL, P_SYMBOL

    at = {P_SYMBOL: p, N_SYMBOL: n}
    H = sp.zeros(3, 3)
    for (i, j), e in PUBLISHED_H.items():
        H[i, j] = H[j, i] = e.subs(at)
    return list(H.LUsolve(sp.Matrix([b.subs(at) for b in PUBLISHED_BETA])))


def test_fifty_digit_inputs_print_in_full(tmp_path):
    big = sp.Integer(10) ** 50 - 1
    code, out, err, _, _ = measured(f"objective --d 1 --p 1/3 --n {big} --json", tmp_path)
    assert code == 0, err
    res = json.loads(out)
    assert [sp.Rational(x) for x in res["X_star"]] == published_x_star(sp.Rational(1, 3), big)
    assert res["H_positive_definite"] is True


def test_a_closed_pipe_is_quiet(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "markov_icl", "objective", "--d", "5", "--p", "1/2", "--n", "5",
                             "--json", "--full"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.read(10)
    proc.stdout.close()  # the reader goes away, as with | head -c 10
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert proc.returncode == 141 and err == ""
