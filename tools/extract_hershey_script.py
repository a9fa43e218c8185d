"""Write data/hershey_script.json: the Hershey 'scripts' glyphs of the 13_cursive alphabet.

The glyphs come from the PyPI package `hershey-fonts` (MIT, (c) 2020 apshu; the Hershey
font data itself is public domain, see data/README.md). The package is NOT installed into
the course's environment: its wheel also installs a top-level package named `tests`, which
shadows this repository's tests/ (measured: `from tests.nbimport import ...` fails). So this
script reads an unpacked wheel from a folder given on the command line:

    pip download hershey-fonts==2.1.0 --no-deps -d /tmp/hf && unzip /tmp/hf/*.whl -d /tmp/hf/x
    .venv/bin/python tools/extract_hershey_script.py /tmp/hf/x

Output: {"font", "source", "cap_line", "base_line", "glyphs": {char: {"left", "width",
"strokes": [[[x, y], ...], ...]}}} in Hershey units (y grows downwards, as in the font).
"""
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from course.strokes import ALPHABET  # noqa: E402


def main(unpacked: str, font: str = "scripts") -> None:
    sys.path.insert(0, unpacked)
    from HersheyFonts import HersheyFonts
    f = HersheyFonts()
    f.load_default_font(font)
    glyphs = {}
    for ch in ALPHABET:
        (g,) = list(f.glyphs_for_text(ch))
        glyphs[ch] = {"left": int(g.left_offset), "width": int(g.char_width),
                      "strokes": [[[int(x), int(y)] for x, y in s] for s in g.strokes]}
    g = list(f.glyphs_for_text("a"))[0]
    out = {"font": font, "source": "PyPI hershey-fonts 2.1.0 (MIT), Hershey fonts (public domain)",
           "cap_line": float(g.cap_line), "base_line": float(g.base_line), "glyphs": glyphs}
    path = ROOT / "data" / "hershey_script.json"
    path.write_text(json.dumps(out, separators=(",", ":")) + "\n")
    print(f"wrote {path} ({path.stat().st_size} bytes, {len(glyphs)} glyphs)")


if __name__ == "__main__":
    main(*sys.argv[1:])
