r"""Nothing in the PDF runs past the margin: two LaTeX-writer changes (the HTML is untouched).

**Display math.** A formula wider than the text block is scaled down to fit it; every other
formula is set exactly as before.

Sphinx writes a ``$$...$$`` block as ``\begin{equation*}\begin{split}...\end{split}\end{equation*}``
(``equation`` with its label when numbered), and LaTeX lets a formula wider than the line run
into the margin (a long chain of ``\qquad``-separated gradients ran 130 pt off the page). This
LaTeX visitor for ``math_block`` writes the same equation with the body as ``aligned`` inside
``\bpfitmath{...}``, which measures it and, only if it is wider than the line (less room for
an equation number), scales it to the line's width. Blocks Sphinx does not wrap itself (the
``amsmath`` environments written out in the source) and blocks of several equations keep
Sphinx's own output. (In HTML, KaTeX's display boxes scroll instead.)

**Table cells.** Columns of a wide table are narrow, and a cell word such as
``ReLU/ReLU/Sigmoid`` or ``vec_axb_jacobian_element`` has no place where LaTeX may break it,
so it runs into the next column. Inside tables, the text may break after ``/`` and ``_``.
"""

from __future__ import annotations

from docutils import nodes
from sphinx.writers.latex import LaTeXTranslator

PREAMBLE = r"""
% _ext/pdf_math.py: \bpfitmath{<display math>} scales a formula down to the line if it is wider.
\newsavebox{\bpmathbox}
\newlength{\bpmathroom}
\newcommand{\bpfitmath}[2]{%
  \setlength{\bpmathroom}{\dimexpr\linewidth-#1\relax}%
  \sbox{\bpmathbox}{$\displaystyle #2$}%
  \ifdim\wd\bpmathbox>\bpmathroom
    \resizebox{\bpmathroom}{!}{\usebox{\bpmathbox}}%
  \else
    \usebox{\bpmathbox}%
  \fi}
"""


def visit_math_block(self: LaTeXTranslator, node: nodes.Element) -> None:
    parts = [p.strip() for p in node.astext().split("\n\n") if p.strip()]
    if node.get("nowrap") or len(parts) != 1:
        return LaTeXTranslator.visit_math_block(self, node)
    label = f"equation:{node['docname']}:{node['label']}" if node.get("label") else None
    numbered = bool(label) or self.config.math_number_all
    env = "equation" if numbered else "equation*"
    room = "2.5em" if numbered else "0pt"      # the equation number's place
    self.body.append(rf"\begin{{{env}}}" + (rf"\label{{{label}}}" if label else "")
                     + rf"\bpfitmath{{{room}}}{{\begin{{aligned}}{parts[0]}\end{{aligned}}}}"
                     + f"\n\\end{{{env}}}\n")
    raise nodes.SkipNode


def visit_Text(self: LaTeXTranslator, node: nodes.Text) -> None:
    text = self.encode(node.astext())
    if self.table is not None:
        text = text.replace("/", r"/\allowbreak{}").replace(r"\_", r"\_\allowbreak{}")
    self.body.append(text)


def add_preamble(app, config) -> None:
    elements = config.latex_elements
    elements["preamble"] = elements.get("preamble", "") + PREAMBLE


def setup(app):
    app.add_node(nodes.math_block, override=True, latex=(visit_math_block, None))
    app.add_node(nodes.Text, override=True, latex=(visit_Text, LaTeXTranslator.depart_Text))
    app.connect("config-inited", add_preamble)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
