"""The thirteen papers of the course, in teaching order, and their status.

One list that 00_start_here, the README check and the results report all read, so a new
notebook is announced in one place.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import results


@dataclass(frozen=True)
class Paper:
    number: int
    short: str      # notebook name without number: notebooks/NN_short.ipynb
    title: str
    authors: str
    year: int
    arxiv: str
    unit: str

    @property
    def notebook(self) -> str:
        return f"{self.number:02d}_{self.short}"


PAPERS = [
    Paper(1, "mnist1d", "Scaling Down Deep Learning with MNIST-1D", "Greydanus & Kobak", 2020, "2011.14439", "Foundations"),
    Paper(2, "hamiltonian_nn", "Hamiltonian Neural Networks", "Greydanus, Dzamba & Yosinski", 2019, "1906.01563", "Learning physics"),
    Paper(3, "lagrangian_nn", "Lagrangian Neural Networks", "Cranmer, Greydanus, Hoyer et al.", 2020, "2003.04630", "Learning physics"),
    Paper(4, "dissipative_hnn", "Dissipative Hamiltonian Neural Networks", "Sosanya & Greydanus", 2022, "2201.10085", "Learning physics"),
    Paper(5, "action", "Nature's Cost Function: simulating physics by minimising the action", "Strang, Caruso & Greydanus", 2023, "2303.02115", "Learning physics"),
    Paper(6, "piecewise_node", "Piecewise-constant Neural ODEs", "Greydanus, Lee & Fern", 2021, "2106.06621", "Learning physics"),
    Paper(7, "topopt_180", "A Tutorial on Structural Optimization (in 180 lines)", "Greydanus", 2022, "2205.08966", "Designing with gradients"),
    Paper(8, "neural_reparam", "Neural reparameterization improves structural optimization", "Hoyer, Sohl-Dickstein & Greydanus", 2019, "1909.04240", "Designing with gradients"),
    Paper(9, "wings", "The Story of Airplane Wings: a wind tunnel and gradient ascent", "Greydanus", 2020, "2010.07446", "Designing with gradients"),
    Paper(10, "enigma_rnn", "Learning the Enigma with Recurrent Neural Networks", "Greydanus", 2017, "1708.07576", "Sequences and agents"),
    Paper(11, "atari_saliency", "Visualizing and Understanding Atari Agents", "Greydanus, Koul, Dodge & Fern", 2017, "1711.00138", "Sequences and agents"),
    Paper(12, "finite_state", "Learning Finite State Representations of Recurrent Policy Networks", "Koul, Greydanus & Fern", 2018, "1811.12530", "Sequences and agents"),
    Paper(13, "cursive", "The Cursive Transformer", "Greydanus & Wimpee", 2025, "2504.00051", "Sequences and agents"),
]

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"


def paper(notebook: str) -> Paper:
    """The catalog entry of a notebook name such as '01_mnist1d'."""
    for p in PAPERS:
        if p.notebook == notebook:
            return p
    raise ValueError(f"no paper for notebook {notebook!r}; known: {[p.notebook for p in PAPERS]}")


def status(p: Paper, notebook_dir: Path | None = None, results_directory: Path | None = None) -> str:
    """'coming' without a notebook; else how many FULL claims reproduce (checks not counted)."""
    folder = NOTEBOOK_DIR if notebook_dir is None else Path(notebook_dir)
    if not (folder / f"{p.notebook}.ipynb").exists():
        return "coming"
    full = results.load_cards(results_directory, notebook=p.notebook, mode="FULL")
    if not full:
        return "ready (no FULL run recorded)"
    from .report import tally  # local: report imports results, as catalog does
    t = tally(full)
    text = f"{t['reproduces']}/{t['claims']} claims reproduce"
    if t["partly"]:
        text += f", {t['partly']} partly"
    if t["untested"]:
        text += f", {t['untested']} untested"
    return text


def table(link_prefix: str = "", notebook_dir: Path | None = None, results_directory: Path | None = None) -> str:
    """Markdown table of the papers with links to the notebooks that exist."""
    rows = ["| # | paper | unit | arXiv | status |", "|---|---|---|---|---|"]
    folder = NOTEBOOK_DIR if notebook_dir is None else Path(notebook_dir)
    for p in PAPERS:
        exists = (folder / f"{p.notebook}.ipynb").exists()
        name = f"[{p.title}]({link_prefix}{p.notebook}.ipynb)" if exists else p.title
        rows.append(f"| {p.number:02d} | {name} ({p.authors}, {p.year}) | {p.unit} | "
                    f"[{p.arxiv}](https://arxiv.org/abs/{p.arxiv}) | {status(p, folder, results_directory)} |")
    return "\n".join(rows)
