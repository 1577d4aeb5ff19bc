"""Create a short placeholder chapter notebook, unless the file already exists.

Usage: python scripts/placeholder_notebook.py chapters/NN_name.ipynb "Title" ["One sentence."]

The table of contents names every chapter file; a chapter that its author has not written yet
starts as this short real page (title, one sentence, one cell that imports backprop_lib) so
that the strict build, the numbering and the cross-references already work.
"""

import sys
from pathlib import Path

import nbformat


def main() -> int:
    path, title = Path(sys.argv[1]), sys.argv[2]
    sentence = sys.argv[3] if len(sys.argv) > 3 else "This chapter is being written."
    if path.exists():
        print(f"{path} exists: left alone")
        return 0
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell(f"# {title}\n\n{sentence}"),
        nbformat.v4.new_code_cell("import backprop_lib\n\nprint(backprop_lib.__name__)"),
    ]
    nbformat.write(nb, path)
    print(f"{path}: placeholder written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
