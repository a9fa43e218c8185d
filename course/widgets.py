"""Glue for hyperparameter panels: controls, a Run button, an output area with a live plot.

The function a panel runs is a plain function of keyword arguments, which tests call
directly. Building a panel never runs it: executed headless (papermill, nbval) a panel
only displays. `live=True` re-runs on every control change instead of on a button
(for cheap functions such as redrawing data).
"""
from __future__ import annotations

import inspect
import traceback
from typing import Callable

import ipywidgets as W
import matplotlib.pyplot as plt
from IPython.display import clear_output, display

from . import validate

_LAYOUT = {"description_width": "initial"}


def slider(lo: float, hi: float, step: float | None = None, *, log: bool = False,
           description: str = "") -> W.Widget:
    """An int or float (optionally log-scale) slider over [lo, hi]: a range, no value.

    The starting value comes from the panel: the run function's default for that argument,
    or the panel's `defaults` (so a default is written once, in the function or config).
    """
    if not lo < hi:
        raise ValueError(f"slider {description!r}: needs lo < hi, got [{lo}, {hi}]")
    if log:
        import math
        if lo <= 0:
            raise ValueError(f"slider {description!r}: a log slider needs lo > 0, got {lo}")
        w = W.FloatLogSlider(value=lo, base=10, min=math.log10(lo), max=math.log10(hi),
                             step=step or 0.1, description=description, style=_LAYOUT,
                             continuous_update=False)
    elif all(isinstance(v, int) for v in (lo, hi)) and (step is None or isinstance(step, int)):
        w = W.IntSlider(value=lo, min=lo, max=hi, step=step or 1, description=description,
                        style=_LAYOUT, continuous_update=False)
    else:
        w = W.FloatSlider(value=lo, min=lo, max=hi, step=step or (hi - lo) / 100,
                          description=description, style=_LAYOUT, continuous_update=False)
    w._course_range = (lo, hi)
    return w


def choice(options, description: str = "") -> W.Widget:
    """A dropdown of options; the starting value comes from the panel, as for `slider`."""
    options = list(options)
    if not options:
        raise ValueError(f"choice {description!r}: options must not be empty")
    w = W.Dropdown(options=options, value=options[0], description=description, style=_LAYOUT)
    w._course_options = options
    return w


def _starting_values(fn: Callable, names, defaults) -> dict:
    """Each control's starting value: `defaults` (a dict or an object with attributes) first,
    then the run function's default for that argument."""
    params = inspect.signature(fn).parameters
    values = {}
    for name in names:
        if isinstance(defaults, dict) and name in defaults:
            values[name] = defaults[name]
        elif defaults is not None and not isinstance(defaults, dict) and hasattr(defaults, name):
            values[name] = getattr(defaults, name)
        elif name in params and params[name].default is not inspect.Parameter.empty:
            values[name] = params[name].default
        else:
            raise ValueError(f"control {name!r} has no starting value: give "
                             f"{getattr(fn, '__name__', 'fn')}() a default for it, or pass defaults=")
    return values


def _set_start(name: str, w: W.Widget, value) -> None:
    rng, options = getattr(w, "_course_range", None), getattr(w, "_course_options", None)
    if rng is not None and not rng[0] <= value <= rng[1]:
        raise ValueError(f"control {name!r}: starting value {value!r} is outside [{rng[0]}, {rng[1]}]")
    if options is not None and value not in options:
        raise ValueError(f"control {name!r}: starting value {value!r} is not one of {options}")
    w.value = value


class Panel:
    """Controls + Run button + output area around a plain function `fn(**values)`."""

    def __init__(self, fn: Callable, controls: dict[str, W.Widget], title: str = "",
                 live: bool = False, button: str = "Run", defaults=None):
        validate.function("fn", fn)
        if not controls:
            raise ValueError("controls must name at least one widget")
        for name, w in controls.items():
            if not isinstance(w, W.ValueWidget):
                raise ValueError(f"control {name!r} must be an ipywidgets value widget, got {type(w).__name__}")
        for name, value in _starting_values(fn, controls, defaults).items():
            _set_start(name, controls[name], value)
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


def panel(fn: Callable, controls: dict[str, W.Widget], title: str = "", live: bool = False,
          defaults=None) -> Panel:
    """Build (not run) a panel; display it by leaving it as the cell's last expression.

    Args:
        fn: the plain function the panel runs, `fn(**values)`; tests call it directly.
        controls: {argument name: `slider`/`choice`/any ipywidgets value widget}.
        title: shown above the controls.
        live: re-run on every change instead of on a Run button (for cheap functions).
        defaults: starting values as a dict or a config object (its attributes); by default
            each control starts at `fn`'s own default for that argument.
    """
    return Panel(fn, controls, title=title, live=live, defaults=defaults)


def live_plot(draw: Callable[..., None], every: int = 1) -> Callable:
    """A `callback(history)` for training loops and optimisers (`course.fitting.fit`, the
    topology optimisers) that redraws a figure in place as the run goes.

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
