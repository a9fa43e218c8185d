"""Run every notebook in JupyterLab in a real browser (run by `make browser-test`).

    python tools/browser_test.py [--out build/browser] [--no-self-check] [notebooks/NN_x.ipynb ...]

nbval runs the kernel, not the page a student sees. This starts the course's JupyterLab on
127.0.0.1 (a random port and token, a temporary root, settings and config, so nothing of
the user's or of the repository changes), opens each notebook in headless Chromium
(Debian's /usr/bin/chromium, driven by Playwright: no browser download), runs all cells with
Run > Run All Cells in FAST mode (COURSE_FAST=1 in the server's environment), and fails a
notebook on
- an error output (read from the notebook as the page saved it),
- "Error displaying widget" anywhere on the page, or widget views saved but none rendered,
- a notebook whose cells draw figures as they run (pyplot, course.plots or Axes calls outside
  functions) but whose page shows none, or shows fewer images than it saved,
- cells that did not run (Run All stops at an error) or a run that does not finish.
Windowing is off (notebook setting `windowingMode: none`) so every cell is in the page.
Screenshots of each notebook, top to bottom, go to <out>/NN_name.png (a long one continues in
NN_name-02.png, ...), the verdicts to <out>/report.json.

Before the course's notebooks, a self-check runs four scratch notebooks and insists on the
verdicts: one that raises, one whose figure never shows (Agg backend), one that displays a
widget that does not exist, and a clean one with a figure and a slider (which must pass).
A checker that cannot fail is not a check.
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
# As the probe of this machine kind starts it: no sandbox as root, no GPU, no network chatter.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
SETTINGS = {
    # every cell in the page: JupyterLab 4 otherwise leaves off-screen cells out of the DOM
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    # no news or update toasts over the page; the test saves the notebook itself
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
}
# What a student's `make lab` does not have (nbgrader's UI comes with the optional teach group).
DISABLED_EXTENSIONS = {"@jupyter/nbgrader": True, "@jupyter-notebook/lab-extension": True,
                       "@jupyterlab/extensionmanager-extension": True}
# a call that draws: pyplot, course.plots, or an Axes method
FIGURE_CALL = re.compile(r"^(plt|plots|course\.plots)\.|\.(plot|imshow|scatter|contourf?|quiver|pcolormesh|bar|hist)$")
VIEW_WIDTH, SHOT_HEIGHT = 1280, 2400   # a long notebook: several shots of 2400 px


@dataclass
class Verdict:
    notebook: str
    seconds: float = 0.0
    code_cells: int = 0
    cells_run: int = 0
    errors: list = field(default_factory=list)        # "cell 12: ValueError: boom"
    widget_errors: int = 0
    widgets: int = 0                                    # widgets rendered in the page
    widgets_saved: int = 0                              # widget views in the saved notebook
    figures_expected: bool = False
    figures_saved: int = 0                              # image outputs in the saved notebook
    figures_shown: int = 0                              # images rendered in the page
    page_errors: list = field(default_factory=list)    # uncaught JavaScript exceptions (reported)
    problems: list = field(default_factory=list)
    screenshot: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1))


class Lab:
    """The course's JupyterLab on 127.0.0.1, in a temporary root that mirrors the repository."""

    def __init__(self, workdir: Path, notebooks: list[Path], log: Path, jupyter: str):
        self.workdir, self.token, self.port = workdir, secrets.token_hex(16), free_port()
        self.root = workdir / "root"
        (self.root / "notebooks").mkdir(parents=True)
        # the notebooks run in a copy of notebooks/, beside links to the rest of the repository,
        # so their relative paths (../data, ../LECTURES.md) resolve and no file of ours changes
        for entry in ROOT.iterdir():
            if entry.name not in {"notebooks", "build", ".git", ".venv"}:
                (self.root / entry.name).symlink_to(entry)
        for entry in (ROOT / "notebooks").iterdir():
            if entry.suffix != ".ipynb" and not entry.name.startswith("."):
                (self.root / "notebooks" / entry.name).symlink_to(entry)
        for nb in notebooks:
            shutil.copy(nb, self.root / "notebooks" / nb.name)
        # FAST cards go to a temporary results folder that holds copies of the committed FULL
        # cards, so notebooks that show the FULL table still do, and results/ is left alone
        (workdir / "results").mkdir()
        for card in (ROOT / "results").glob("*.json"):
            if not card.name.endswith("__fast.json"):
                shutil.copy(card, workdir / "results" / card.name)
        for plugin, values in SETTINGS.items():
            _write_json(workdir / "settings" / f"{plugin}.jupyterlab-settings", values)
        _write_json(workdir / "config" / "labconfig" / "page_config.json", {"disabledExtensions": DISABLED_EXTENSIONS})
        env = {k: v for k, v in os.environ.items() if k not in {"MPLBACKEND", "JUPYTER_TOKEN"}}
        env.update(COURSE_FAST="1", OMP_NUM_THREADS=env.get("OMP_NUM_THREADS", "1"), PYDEVD_DISABLE_FILE_VALIDATION="1",
                   COURSE_RESULTS_DIR=str(workdir / "results"), JUPYTER_CONFIG_DIR=str(workdir / "config"),
                   JUPYTERLAB_SETTINGS_DIR=str(workdir / "settings"),
                   JUPYTERLAB_WORKSPACES_DIR=str(workdir / "workspaces"), JUPYTER_RUNTIME_DIR=str(workdir / "runtime"))
        cmd = [jupyter, "lab", "--no-browser", "--ip=127.0.0.1", f"--port={self.port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}"]
        if os.geteuid() == 0:
            cmd.append("--allow-root")
        self.log = open(log, "w")
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=self.root)
        self.base = f"http://127.0.0.1:{self.port}"
        self._wait_up()

    def api(self, path: str, method: str = "GET"):
        req = urllib.request.Request(f"{self.base}{path}", method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read()
        return json.loads(body) if body else None

    def _wait_up(self, timeout: float = 120) -> None:
        t0 = time.time()
        while time.time() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {self.proc.returncode}: see {self.log.name}")
            try:
                self.api("/api/status")
                return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f"jupyter lab did not answer within {timeout:.0f} s: see {self.log.name}")

    def kernel_state(self, name: str) -> str | None:
        for s in self.api("/api/sessions"):
            if s["path"].endswith(name):
                return s["kernel"]["execution_state"]
        return None

    def shut_down_kernels(self) -> None:
        for s in self.api("/api/sessions"):
            self.api(f"/api/sessions/{s['id']}", method="DELETE")

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def draws_at_top_level(source: str) -> bool:
    """True when a cell draws as it runs: a drawing call outside any def, class or lambda
    (a function that only a widget panel calls draws nothing until a student moves it)."""
    lines = [ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!"))]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return False
    found = False

    class Visitor(ast.NodeVisitor):
        def skip(self, node):
            pass
        visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = visit_Lambda = skip

        def visit_Call(self, node):
            nonlocal found
            found = found or bool(FIGURE_CALL.search(ast.unparse(node.func)))
            self.generic_visit(node)

    Visitor().visit(tree)
    return found


def expects_figures(nb) -> bool:
    return any(c.cell_type == "code" and draws_at_top_level(c.source) for c in nb.cells)


def saved_outputs(path: Path, v: Verdict) -> None:
    """Error outputs and images of the notebook as the page saved it."""
    nb = nbformat.read(path, as_version=4)
    for i, c in enumerate(nb.cells):
        if c.cell_type != "code":
            continue
        for o in c.get("outputs", []):
            if o.output_type == "error":
                v.errors.append(f"cell {i}: {o.ename}: {o.evalue}"[:300])
            elif "data" in o and any(k.startswith("image/") for k in o.data):
                v.figures_saved += 1
            if "data" in o and "application/vnd.jupyter.widget-view+json" in o.data:
                v.widgets_saved += 1


def _menu(page, top: str, item: str) -> None:
    """Click a main-menu entry, as a student does (e.g. Run > Run All Cells)."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{top}$")).first.click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{item}$")).first.click()


def screenshots(page, stem: Path) -> str:
    """The whole notebook from the top, in shots of SHOT_HEIGHT px: stem.png, stem-02.png, ..."""
    scroller = "document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer')"
    page.set_viewport_size({"width": VIEW_WIDTH, "height": SHOT_HEIGHT})
    time.sleep(0.5)
    # where the last cell ends (scrollHeight also counts the blank space JupyterLab leaves below it)
    content, visible = page.evaluate(f"""() => {{
        const s = {scroller};
        if (!s) return [0, 1];
        const cells = s.querySelectorAll('.jp-Cell');
        const last = cells.length ? cells[cells.length - 1].getBoundingClientRect().bottom : 0;
        return [last - s.getBoundingClientRect().top + s.scrollTop, s.clientHeight]; }}""")
    shots = max(1, -(-int(content) // max(int(visible), 1)))
    for k in range(shots):
        page.evaluate(f"() => {{ const s = {scroller}; if (s) s.scrollTop = {k * visible}; }}")
        time.sleep(0.5)
        page.screenshot(path=str(stem.parent / f"{stem.name}{'' if k == 0 else f'-{k + 1:02d}'}.png"))
    first = stem.parent / f"{stem.name}.png"
    return str(first.relative_to(ROOT) if first.is_relative_to(ROOT) else first) + (f" (+{shots - 1} more)" if shots > 1 else "")


def run_notebook(browser, lab: Lab, name: str, out: Path, timeout: float) -> Verdict:
    v = Verdict(notebook=name)
    path = lab.root / "notebooks" / name
    nb = nbformat.read(path, as_version=4)
    v.code_cells = sum(c.cell_type == "code" and bool(c.source.strip()) for c in nb.cells)
    v.figures_expected = expects_figures(nb)
    page = browser.new_page(viewport={"width": VIEW_WIDTH, "height": 900})
    page.on("pageerror", lambda err: v.page_errors.append(str(err)[:300]))
    t0 = time.time()
    try:
        page.goto(f"{lab.base}/lab/tree/notebooks/{name}?reset&token={lab.token}")
        panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
        panel.locator(".jp-Notebook").first.wait_for(timeout=120_000)
        while lab.kernel_state(name) != "idle":       # the kernel started and answers
            if time.time() - t0 > 180:
                raise TimeoutError("the kernel did not start within 180 s")
            time.sleep(0.5)
        page.keyboard.press("Control+b")  # hide the file browser: a wider notebook in the shot
        _menu(page, "Run", "Run All Cells")
        prompts = panel.locator(".jp-CodeCell .jp-InputArea-prompt")
        idle_polls = 0
        while idle_polls < 3:
            time.sleep(1)
            if time.time() - t0 > timeout:
                raise TimeoutError(f"Run All did not finish within {timeout:.0f} s")
            texts = prompts.all_text_contents()
            busy = any("*" in t for t in texts)
            idle_polls = idle_polls + 1 if not busy and lab.kernel_state(name) == "idle" else 0
        v.cells_run = sum(bool(re.search(r"\[\d+\]", t)) for t in prompts.all_text_contents())
        v.seconds = round(time.time() - t0, 1)
        before = path.stat().st_mtime
        _menu(page, "File", "Save Notebook")
        for _ in range(60):
            if path.stat().st_mtime != before:
                break
            time.sleep(0.5)
        else:
            v.problems.append("the page did not save the notebook")
        saved_outputs(path, v)
        v.widget_errors = page.get_by_text("Error displaying widget").count()
        v.widgets = panel.locator(".jp-OutputArea-output .jupyter-widgets").count()
        v.figures_shown = panel.locator(".jp-OutputArea-output img").count()
        v.screenshot = screenshots(page, out / Path(name).stem)
    except Exception as err:  # a hung run, a page that never loads: a failure, with a shot
        v.problems.append(f"{type(err).__name__}: {err}"[:400])
        v.seconds = round(time.time() - t0, 1)
        try:
            page.screenshot(path=str(out / f"{Path(name).stem}.png"))
        except Exception:
            pass
    finally:
        page.close()
        lab.shut_down_kernels()
    return judge(v)


def judge(v: Verdict) -> Verdict:
    """Add the problems that fail a notebook to v.problems (what was measured is already in v)."""
    if v.errors:
        v.problems.append(f"{len(v.errors)} error output(s): " + "; ".join(v.errors[:3]))
    if v.widget_errors:
        v.problems.append(f"'Error displaying widget' shown {v.widget_errors} time(s)")
    if v.figures_expected and v.figures_shown == 0 and not v.problems:
        v.problems.append("the code draws figures but the page shows none")
    if v.figures_saved > v.figures_shown and not v.problems:
        v.problems.append(f"{v.figures_saved} image outputs saved, {v.figures_shown} shown in the page")
    if v.widgets_saved and not v.widgets and not v.problems:
        v.problems.append(f"{v.widgets_saved} widget views saved, none rendered in the page")
    if v.cells_run < v.code_cells and not v.problems:
        v.problems.append(f"only {v.cells_run} of {v.code_cells} code cells ran")
    return v


def _scratch(cells: list[str]) -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in cells], metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}})


# name -> (cells, the problem the checker must report; None: it must pass)
SELF_CHECKS = {
    "zz_check_clean.ipynb": (["import matplotlib.pyplot as plt\nimport ipywidgets as w",
                              "plt.plot([0, 1, 4, 9])\nplt.show()", "w.IntSlider(3, description='n')"], None),
    "zz_check_raises.ipynb": (["x = 1", "raise ValueError('a notebook that raises')", "y = 2"], "error output"),
    "zz_check_no_figure.ipynb": (["import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt",
                                  "plt.plot([0, 1, 4, 9])\nplt.show()"], "shows none"),
    "zz_check_bad_widget.ipynb": (["from IPython.display import display",
                                   "display({'application/vnd.jupyter.widget-view+json': {'model_id': 'no-such-model', "
                                   "'version_major': 2, 'version_minor': 0}}, raw=True)"], "Error displaying widget"),
}


def self_check(browser, lab: Lab, out: Path, timeout: float) -> list[str]:
    """Run the scratch notebooks; return what went wrong with the checker itself."""
    wrong = []
    for name, (_, expected) in SELF_CHECKS.items():
        v = run_notebook(browser, lab, name, out, timeout)
        said = " | ".join(v.problems)
        print(f"  self-check {name}: {'passes' if v.ok else 'fails: ' + said}")
        if expected is None and not v.ok:
            wrong.append(f"{name} should pass but: {said}")
        elif expected is not None and expected not in said:
            wrong.append(f"{name} should fail with '{expected}' but: {said or 'passed'}")
    return wrong


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.ipynb")
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "browser")
    ap.add_argument("--timeout", type=float, default=900, help="seconds per notebook (default 900)")
    ap.add_argument("--no-self-check", dest="self_check", action="store_false")
    ap.add_argument("--keep", action="store_true", help="keep the temporary lab folder")
    args = ap.parse_args(argv)
    paths = [p.resolve() for p in args.notebooks] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing: apt-get install chromium (make browser-test does it as root)")
        return 2
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    for old in args.out.glob("*.png"):
        old.unlink()
    workdir = Path(tempfile.mkdtemp(prefix="course-browser-"))
    jupyter = str(Path(sys.executable).parent / "jupyter")
    t_all = time.time()
    lab = Lab(workdir, paths, args.out / "jupyterlab.log", jupyter)
    for name, (cells, _) in SELF_CHECKS.items():
        nbformat.write(_scratch(cells), lab.root / "notebooks" / name)
    verdicts, wrong = [], []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            print(f"JupyterLab at {lab.base} (root {lab.root}), Chromium {browser.version}")
            if args.self_check:
                t0 = time.time()
                wrong = self_check(browser, lab, args.out / "self-check", args.timeout)
                print(f"self-check: {'OK' if not wrong else 'WRONG'} in {time.time() - t0:.0f} s")
            for p in paths:
                v = run_notebook(browser, lab, p.name, args.out, args.timeout)
                verdicts.append(v)
                print(f"{'PASS' if v.ok else 'FAIL'} {p.name}: {v.seconds:.0f} s, {v.cells_run}/{v.code_cells} cells, "
                      f"{v.figures_shown} figures shown, {v.widgets} widgets"
                      + (f", {len(v.page_errors)} JS page errors" if v.page_errors else "")
                      + ("".join(f"\n     - {m}" for m in v.problems)), flush=True)
            browser.close()
    finally:
        lab.close()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    total = time.time() - t_all
    _write_json(args.out / "report.json", {"seconds": round(total, 1), "self_check_wrong": wrong,
                                           "notebooks": [asdict(v) | {"ok": v.ok} for v in verdicts]})
    failed = [v.notebook for v in verdicts if not v.ok]
    print(f"browser test: {len(verdicts) - len(failed)}/{len(verdicts)} notebooks pass in {total:.0f} s; "
          f"screenshots in {args.out}")
    for w in wrong:
        print(f"self-check WRONG: {w}")
    return 1 if failed or wrong else 0


if __name__ == "__main__":
    sys.exit(main())
