"""Sphinx configuration of the course website (`make site`; tools/build_site.py stages the pages).

Sphinx + MyST-NB render the executed notebooks as they are (nothing is executed here), with
README.md, LECTURES.md and RESULTS.md; the theme is sphinx-book-theme (Jupyter Book 1's).
Navigation follows the course order: the staged index.md holds one toctree per unit.
Everything comes from PyPI (`pip install -e ".[site]"`); nothing is downloaded at build time.
MathJax is shipped with the site (sphinx-mathjax-offline); the widgets' HTML manager is loaded
by the reader's browser when a page with a panel is viewed.
"""
project = "Papers from Scratch"
author = "Papers from Scratch contributors"
copyright = "the course's authors; the papers belong to their authors"

# sphinx-mathjax-offline ships MathJax 3 into _static/: equations render without a network.
extensions = ["myst_nb", "sphinx-mathjax-offline"]
root_doc = "index"
exclude_patterns = ["_build", "**/.ipynb_checkpoints"]

# The notebooks arrive executed (FULL from build/, else a FAST run): never execute here.
nb_execution_mode = "off"
nb_merge_streams = True
# Markdown outputs (the catalog table, card tables) use tables: render them as MyST.
nb_render_markdown_format = "myst"
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "html_image"]
myst_heading_anchors = 3
# Notebooks (as JupyterLab renders them) put $$...$$ inside paragraphs: parse it there too.
myst_dmath_double_inline = True
# Headings in notebooks skip levels now and then, and a few outputs carry MIME types
# (e.g. widget views without a saved state) that a static page cannot show.
suppress_warnings = ["myst.header", "mystnb.unknown_mime_type", "misc.highlighting_failure"]

html_theme = "sphinx_book_theme"
html_title = "Papers from Scratch"
html_last_updated_fmt = ""
html_theme_options = {
    "home_page_in_toc": True,
    "show_navbar_depth": 2,
    "show_toc_level": 2,
    "use_download_button": True,
    "use_fullscreen_button": False,
}
html_show_sourcelink = False


def _display_math_as_written(app, doctree):
    """Give MathJax a notebook's $$...$$ as JupyterLab does. Sphinx wraps display math that
    contains a line break (`\\\\`, as in a pmatrix) in a split environment, where `\\tag{n}`
    is an error; such blocks go to MathJax unwrapped, inside \\[ \\]."""
    from docutils import nodes
    for node in doctree.findall(nodes.math_block):
        text = node.astext()
        if "\\\\" in text and not node.get("nowrap"):
            node.children = [nodes.Text("\\[" + text + "\\]")]
            node["nowrap"] = True


def setup(app):
    app.connect("doctree-read", _display_math_as_written)
