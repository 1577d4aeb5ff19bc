# IPython kernel configuration for the book's build (scripts/build_book.sh copies it into a
# profile under _build/ and points IPYTHONDIR there; nbmake and JupyterLab do not use it).
# Every matplotlib figure is kept as PNG, which the website shows, and as PDF, which the book's
# PDF includes (myst-nb prefers application/pdf for LaTeX): vector figures, sharp at any print
# resolution, with their text in embedded TrueType fonts (pdf.fonttype 42, not Type 3).
c = get_config()  # noqa: F821 (provided by IPython when it loads this file)
c.InlineBackend.figure_formats = {"png", "pdf"}
c.InlineBackend.rc = {"pdf.fonttype": 42}
c.HistoryManager.enabled = False
