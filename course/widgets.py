"""Glue for hyperparameter panels: controls, a Run button, an output area with a live plot.

The function a panel runs is a plain function of keyword arguments, which tests call
directly. Building a panel never runs it: executed headless (papermill, nbval) a panel
only displays. `live=True` re-runs on every control change instead of on a button
(for cheap functions such as redrawing data).
"""
from __future__ import annotations

import traceback
from typing import Callable

import ipywidgets as W
import matplotlib.pyplot as plt
from IPython.display import clear_output, display

_LAYOUT = {"description_width": "initial"}


def slider(value: float, lo: float, hi: float, step: float | None = None, description: str = "",
           log: bool = False) -> W.Widget:
    """An int or float (optionally log-scale) slider with a readable label."""
    if not lo <= value <= hi:
        raise ValueError(f"slider {description!r}: value {value} is outside [{lo}, {hi}]")
    if log:
        import math
        if lo <= 0:
            raise ValueError(f"slider {description!r}: a log slider needs lo > 0, got {lo}")
        return W.FloatLogSlider(value=value, base=10, min=math.log10(lo), max=math.log10(hi),
                                step=step or 0.1, description=description, style=_LAYOUT,
                                continuous_update=False)
    if all(isinstance(v, int) for v in (value, lo, hi)) and (step is None or isinstance(step, int)):
        return W.IntSlider(value=value, min=lo, max=hi, step=step or 1, description=description,
                           style=_LAYOUT, continuous_update=False)
    return W.FloatSlider(value=value, min=lo, max=hi, step=step or (hi - lo) / 100,
                         description=description, style=_LAYOUT, continuous_update=False)


def choice(options, value=None, description: str = "") -> W.Widget:
    """A dropdown of options (first one by default)."""
    options = list(options)
    if not options:
        raise ValueError(f"choice {description!r}: options must not be empty")
    value = options[0] if value is None else value
    if value not in options:
        raise ValueError(f"choice {description!r}: {value!r} is not one of {options}")
    return W.Dropdown(options=options, value=value, description=description, style=_LAYOUT)


class Panel:
    """Controls + Run button + output area around a plain function `fn(**values)`."""

    def __init__(self, fn: Callable, controls: dict[str, W.Widget], title: str = "",
                 live: bool = False, button: str = "Run"):
        if not callable(fn):
            raise ValueError(f"fn must be callable, got {fn!r}")
        if not controls:
            raise ValueError("controls must name at least one widget")
        for name, w in controls.items():
            if not isinstance(w, W.ValueWidget):
                raise ValueError(f"control {name!r} must be an ipywidgets value widget, got {type(w).__name__}")
        self.fn, self.controls, self.live = fn, controls, live
        self.output = W.Output()
        self.status = W.HTML()
        items = [W.HTML(f"<b>{title}</b>")] if title else []
        items += list(controls.values())
        if live:
            for w in controls.values():
                w.observe(lambda _change: self.run(), names="value")
            self.button = None
        else:
            self.button = W.Button(description=button, button_style="primary", icon="play")
            self.button.on_click(lambda _b: self.run())
            items.append(self.button)
        self.widget = W.VBox(items + [self.status, self.output])

    def values(self) -> dict:
        return {name: w.value for name, w in self.controls.items()}

    def run(self):
        """Run the function with the current values; its figures and prints go to the output."""
        if self.button is not None:
            self.button.disabled = True
        self.status.value = "<i>running…</i>"
        result = None
        try:
            with self.output:
                clear_output(wait=True)
                result = self.fn(**self.values())
                plt.show()
            self.status.value = ""
        except Exception as err:  # show the error in the panel, keep the panel alive
            self.status.value = f"<span style='color:#c00'>error: {err}</span>"
            with self.output:
                traceback.print_exc()
        finally:
            if self.button is not None:
                self.button.disabled = False
        return result

    def _ipython_display_(self):
        display(self.widget)


def panel(fn: Callable, controls: dict[str, W.Widget], title: str = "", live: bool = False) -> Panel:
    """Build (not run) a panel; display it by leaving it as the cell's last expression."""
    return Panel(fn, controls, title=title, live=live)


def live_plot(draw: Callable[..., None], every: int = 1) -> Callable:
    """A callback for `course.train.fit` that redraws a figure in place as training goes.

    `draw(history)` draws into the current figure. Meant for the function a panel runs:
    inside the panel's output the figure is replaced at each evaluation. Called in a plain
    cell, it clears that cell's whole output at each evaluation.
    """
    if every < 1:
        raise ValueError(f"every must be >= 1, got {every}")
    calls = {"n": 0}

    def callback(history) -> None:
        calls["n"] += 1
        if calls["n"] % every:
            return
        clear_output(wait=True)
        draw(history)
        plt.show()

    return callback
