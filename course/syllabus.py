"""The lecture plan's facts, each written once: run times, core path, Bonus, exercises to assign.

LECTURES.md and every notebook's header take their text from here: `tools/sync_syllabus.py`
writes it between `<!-- syllabus:... -->` and `<!-- /syllabus -->` markers, and
tests/test_lectures.py fails, naming the notebook, when either disagrees. After a
`make reproduce`, `python tools/sync_syllabus.py --from-stats` rewrites the TIMES block below
from build/run_stats.json (tools/run_notebook.py's measurements), then LECTURES and headers.

Taught nowhere (plumbing); the lecture plan is LECTURES.md, the tour 00_start_here.
"""
from __future__ import annotations

from dataclasses import dataclass

#: the machine every time below refers to (course budget: FAST < 90 s, FULL < 10 min)
MACHINE = "a 2-core CPU"


@dataclass(frozen=True)
class Times:
    """FAST seconds and FULL minutes of one notebook, and where the numbers come from."""

    fast_s: float
    full_min: float
    source: str


@dataclass(frozen=True)
class Exercise:
    """An end-of-notebook exercise the lecture plan assigns: `words` occur in its text."""

    number: int
    title: str
    words: str


@dataclass(frozen=True)
class Lecture:
    """One notebook's session: its core path, what is Bonus, study time, exercises to assign."""

    notebook: str
    core: str
    bonus: str
    study: str
    assign: tuple[Exercise, ...] = ()


# <times> (tools/sync_syllabus.py --from-stats rewrites these lines from build/run_stats.json)
TIMES = {
    "00_start_here": Times(10, 0.05, "FAST: README memory table (tools/run_notebook.py --fast, load ~10); FULL: make reproduce from a clean clone (two notebooks at a time, one core each, 2026-12-07, 5ccb485): 2.9 s wall, 2.5 s CPU"),
    "01_mnist1d": Times(60, 3.32, "FAST: header; FULL: make reproduce from a clean clone (two notebooks at a time, one core each, 2026-12-07, 5ccb485): 199.2 s wall, 188.3 s CPU"),
    "02_hamiltonian_nn": Times(70.4, 8.29, "FAST: run_notebook.py 70.4 s CPU of the kernel and its workers, 68.7 s wall at load ~4.5, 2026-12-06 (9f28e3d); FULL: run_notebook.py 497.3 s wall of the kernel on the quiet machine, trainings in 2 worker processes (813.6 s CPU of the kernel and its workers), 2026-12-06 (b4bb225)"),
    "03_lagrangian_nn": Times(63, 2.86, "FAST: run_notebook.py 63.0 s wall, 77.7 s CPU of the kernel and its workers at load ~2.4, 2026-12-06 (e95daaf); FULL: run_notebook.py 171.4 s wall, 244.9 s CPU with COURSE_CORES=1 at load ~2 (closed-form LNN Hessian, c5d4bc1), 2026-12-06"),
    "04_dissipative_hnn": Times(42.7, 4, "FAST: run_notebook.py 42.7 s wall, 40.0 s CPU at load ~3, 2026-12-06 (b78877a); FULL: run_notebook.py 242.6 s wall, 261 s CPU of the kernel and its workers at load 1.2-3 (five seeds in two processes), 2026-12-06 (b78877a)"),
    "05_action": Times(12.2, 0.6, "FAST: run_notebook.py 12.2 s CPU, 77.4 s wall, 2026-12-06; FULL: make reproduce from a clean clone (two notebooks at a time, one core each, 2026-12-07, 5ccb485): 36.1 s wall, 34.8 s CPU"),
    "06_piecewise_node": Times(54, 4, "FAST: run_notebook.py 53-54 s wall, 54-63 s CPU at load ~2, 2026-12-06 (7bfb9c3); FULL: run_notebook.py under /work/notes/quiet 241.2 s wall, 423.7 s CPU of the kernel and its workers (seed runs in two processes), 2026-12-06 (7bfb9c3)"),
    "07_topopt_180": Times(35, 0.99, "FAST: README (run_notebook.py, 36 s at load ~10); FULL: make reproduce from a clean clone (two notebooks at a time, one core each, 2026-12-07, 5ccb485): 59.7 s wall, 63.8 s CPU"),
    "08_neural_reparam": Times(35, 6.67, "FAST: README (run_notebook.py, 35 s at load ~10); FULL: make reproduce from a clean clone (two notebooks at a time, one core each, 2026-12-07, 5ccb485): 400.2 s wall, 399.4 s CPU, trainings in 2 worker processes sharing one core's worth with the other notebook; alone on 2 cores it takes less"),
    "09_wings": Times(45, 1.73, "FAST: README (run_notebook.py, 42 s at load ~10); FULL: make reproduce from a clean clone (two notebooks at a time, one core each, 2026-12-07, 5ccb485): 104.0 s wall, 94.7 s CPU"),
    "10_enigma_rnn": Times(49.9, 8.6, "FAST: run_notebook.py 49.9 s wall, 47.6 s CPU on a loaded machine, 2026-12-06 (f3b7515); FULL: run_notebook.py under /work/notes/quiet 515.9 s wall, 927.1 s CPU (kernel + 2 training processes), with crack mode, 2026-12-06 (2bea25c)"),
    "11_atari_saliency": Times(31.7, 9.94, "FAST: run_notebook.py 31.7 s CPU, 228.8 s wall, 2026-12-06; FULL: run_notebook.py 971.7 s CPU of the kernel and its two workers, 596.3 s wall on the quiet machine (Pong trainer stopped), 2026-12-06 (4d1dcbb)"),
    "12_finite_state": Times(39.7, 9.2, "FAST: run_notebook.py 39.7 s wall, 40.6 s CPU at load ~1.5-2, 2026-12-06 (d2dac5a); FULL: run_notebook.py under /work/notes/quiet 550.5 s wall, 874.8 s CPU of the kernel and its workers, with CartPole, 2026-12-06 (d2dac5a)"),
    "13_cursive": Times(54, 6.85, "FAST: run_notebook.py 54.0 s wall, 49.1 s CPU at load ~2, 2026-12-06 (af776bc); FULL: run_notebook.py under /work/notes/quiet 410.8 s wall, 784.7 s CPU at two torch threads (the paper's 5 layers), 2026-12-06 (af776bc)"),
}
# </times>

_E = Exercise
LECTURES = (
    Lecture("00_start_here", core="sections 1-5 (about 20 minutes)", bonus="", study="20 minutes"),
    Lecture("01_mnist1d", core="sections 1-6, 8 (the cards) and the Summary",
            bonus="section 7 (the panels), the end-of-notebook exercises", study="4 hours",
            assign=(_E(2, "the CNN's receptive field", "receptive field"),
                    _E(1, "why translation breaks the MLP", "translation break"))),
    Lecture("02_hamiltonian_nn", core="sections 1-9, 11 (the cards) and the Summary",
            bonus="section 10 (Explore); Bonus A (reproduction forensics), B (the pixel pendulum), "
                  "C (time reversal and the Riemann gradient) and D (three bodies, scaled down)",
            study="5 hours",
            assign=(_E(1, "conservation is structural", "Conservation is structural"),
                    _E(3, "time reversal", "Time reversal"))),
    Lecture("03_lagrangian_nn", core="sections 1-5 (without the Bonus part of 2), 8 (the cards) and the Summary",
            bonus="vmap timing in section 2, section 6 (the relativistic particle), section 7 (Explore)",
            study="5 hours",
            assign=(_E(1, "the energy an LNN conserves", "energy an LNN conserves"),
                    _E(3, "the HNN in the right coordinates", "HNN in the right coordinates"))),
    Lecture("04_dissipative_hnn", core="sections 1-7, 9 (the cards) and the Summary",
            bonus="section 8 (Explore); Bonus A (a simulated pendulum), Bonus B (a synthetic ocean) and "
                  "Bonus C (five seeds: how unique is the split?)", study="5 hours",
            assign=(_E(1, "why deterministic?", "Why deterministic"),
                    _E(2, "friction on $p$", "Friction on $p$"))),
    Lecture("05_action", core="sections 1-4 (with the two graded exercises), 5.1-5.4, 6, the cards and the Summary",
            bonus="sections 5.5 (the Lennard-Jones gas and the gradient by hand; its Adam run is FULL only) and "
                  "5.6 (the inner planets on JPL's ephemeris); Explore",
            study="4 hours",
            assign=(_E(2, "the gradient at the last interior slice, where the last velocity counts twice",
                       "duplicated last velocity"),
                    _E(3, "the pendulum without the energy penalty", "energy penalty to 0"))),
    Lecture("06_piecewise_node", core="sections 1-7, the cards and the Summary",
            bonus="section 8 (explore tolerance and width) and Exercise 4 (a delta-t head that finds the bounces)",
            study="5 hours",
            assign=(_E(1, "double and halve the tolerance", "Double and halve"),
                    _E(3, "remove the clamp in the jump rollout", "Remove the clamp"))),
    Lecture("07_topopt_180", core="sections 1-7, 10 (the cards) and the Summary",
            bonus="sections 8 (more designs) and 9 (Explore)", study="5 hours",
            assign=(_E(1, "why filter?", "Why filter"),
                    _E(3, "an adjoint of your own", "adjoint of your own"))),
    Lecture("08_neural_reparam", core="sections 1-8, 10 (the cards) and the Summary",
            bonus="section 9 (Explore)", study="5 hours",
            assign=(_E(1, "the implicit gradient by hand", "implicit gradient by hand"),
                    _E(2, "which part of the network matters?", "which part of the network matters"))),
    Lecture("09_wings", core="sections 0-4, 8 (the cards) and the Summary",
            bonus="sections 5-7 (an exact projection, the failure modes, Explore)", study="5 hours",
            assign=(_E(1, "lift and drag separately", "lift and drag separately"),
                    _E(2, "angle of attack of a flat plate", "angle of attack of a flat plate"))),
    Lecture("10_enigma_rnn", core="sections 1-7, 10 (the cards) and the Summary",
            bonus="sections 8 (inside the Vigenère network), 8b (the known-plaintext attack) and 9 (Explore)", study="5 hours",
            assign=(_E(1, "the key slot", "the key slot"),
                    _E(2, "the paper's loss", "the paper's loss"))),
    Lecture("11_atari_saliency", core="sections 1-7 (the graded exercises are in 3 and 4; 7 is real Pong), the cards and the Summary",
            bonus="section 8 (Explore) and Jacobian and perturbation, frame by frame", study="5 hours",
            assign=(_E(1, "constant fill", "Constant fill"),
                    _E(2, "memory matters", "Memory matters"))),
    Lecture("12_finite_state", core="sections 1-8, 13 (the cards) and the Summary",
            bonus="sections 9 (mode counters and CartPole), 10 (Atari agents as machines: Catch, then real Pong), 11 (partial or completed machine?) "
                  "and 12 (Explore)",
            study="5 hours",
            assign=(_E(1, "a binary activation", "binary"),
                    _E(3, "why an extracted machine can be larger than the minimal one", "larger after minimisation"))),
    Lecture("13_cursive", core="sections 1-8, 10 (the cards) and the Summary",
            bonus="Explore; section 9 (the paper's run on a GPU)", study="5 hours",
            assign=(_E(1, "angle first or distance first?", "angle first or distance first"),
                    _E(3, "without the prompt's positions", "without the prompt's positions"))),
)

#: the sentence every header with graded exercises carries (issue 18, part 3)
ON_YOUR_FUNCTION = ("After each graded exercise, the rest of the notebook runs on your function. "
                    "A Run All stops at the first exercise not written yet and says which function to write.")


def lecture(notebook: str) -> Lecture:
    """The session of `notebook` ('05_action')."""
    for lec in LECTURES:
        if lec.notebook == notebook:
            return lec
    raise ValueError(f"notebook must be one of {[lec.notebook for lec in LECTURES]}, got {notebook!r}")


def times(notebook: str) -> Times:
    lecture(notebook)
    return TIMES[notebook]


def fmt_seconds(seconds: float) -> str:
    """'about 40 s', 'about 2.5 min', 'about 7 min': the precision a lecturer plans with."""
    if seconds < 90:
        return f"about {max(5, 5 * round(seconds / 5))} s"
    minutes = seconds / 60
    if minutes < 3:
        return f"about {round(minutes * 2) / 2:g} min"
    return f"about {round(minutes)} min"


def times_text(notebook: str) -> str:
    """'FAST about 40 s, FULL about 6 min on a 2-core CPU'."""
    t = times(notebook)
    return f"FAST {fmt_seconds(t.fast_s)}, FULL {fmt_seconds(t.full_min * 60)} on {MACHINE}"


def header_block(notebook: str, graded: bool) -> str:
    """The text a notebook's header holds between its syllabus markers."""
    lec = lecture(notebook)
    text = f"**Core path:** {lec.core}."
    if lec.bonus:
        text += f" **Bonus:** {lec.bonus}."
    text += f" **Run time** (tools/run_notebook.py): {times_text(notebook)}."
    if graded:
        text += " " + ON_YOUR_FUNCTION
    return text


def lectures_block(notebook: str) -> str:
    """The lines of LECTURES.md's session of `notebook` that come from here (a Markdown list)."""
    lec = lecture(notebook)
    number = notebook[:2]
    if not (lec.bonus or lec.assign):      # 00: the first minutes of session 1
        return f"- **{number}:** core path {lec.core}; {times_text(notebook)} (tools/run_notebook.py)."
    lines = [f"- **Core path:** {lec.core}."]
    if lec.bonus:
        lines.append(f"- **Bonus / self-study:** {lec.bonus}.")
    if lec.assign:
        named = " and ".join(f"Exercise {e.number} ({e.title})" for e in lec.assign)
        lines.append(f"- **Assign:** the Your turn exercises of {number}; {named}.")
    lines.append(f"- **Times:** {times_text(notebook)} (tools/run_notebook.py). Self-study about {lec.study}.")
    return "\n".join(lines)
