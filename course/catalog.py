"""The thirteen papers of the course, in teaching order: data only.

One list that 00_start_here, the README and lecture checks, the site and the results report
(`course.report`, which adds each paper's status from its cards) all read, so a new notebook
is announced in one place. It imports nothing of the course.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


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


def has_notebook(p: Paper, notebook_dir: Path | None = None) -> bool:
    """Whether notebooks/ (or `notebook_dir`) holds the paper's notebook yet."""
    folder = NOTEBOOK_DIR if notebook_dir is None else Path(notebook_dir)
    return (folder / f"{p.notebook}.ipynb").exists()


def paper(notebook: str) -> Paper:
    """The catalog entry of a notebook name such as '01_mnist1d'."""
    for p in PAPERS:
        if p.notebook == notebook:
            return p
    raise ValueError(f"no paper for notebook {notebook!r}; known: {[p.notebook for p in PAPERS]}")
