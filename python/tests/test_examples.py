"""The Python tutorial (script and notebook) and the README's Python examples."""

import json
import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def run_tutorial(*args):
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "tutorial.py"), *args],
        capture_output=True, text=True, check=True, env=os.environ.copy(),
    ).stdout
    return [line for line in out.splitlines() if line.startswith("scheduler=")]


def values_of(line):
    return re.sub(r"seconds=\S+ ", "", line.split(" len=", 1)[1])


def test_tutorial_every_configuration_gives_the_same_values():
    lines = run_tutorial("--n", "400", "--chunk", "100")
    assert len(lines) == 9
    assert lines[0].startswith("scheduler=cluster workers=1 threads=2 ")
    assert lines[-1].startswith("scheduler=processes workers=")
    assert len({values_of(l) for l in lines}) == 1, lines
    assert "len=200 " in lines[0]


def test_tutorial_prints_the_rust_examples_values():
    # The README's output of examples/tutorial.rs (n = 10000, chunks of 1000, seed 0): the
    # same first values and mean, digit for digit.
    readme = (ROOT / "README.md").read_text()
    rust = next(l for l in readme.splitlines() if l.startswith("scheduler=threads threads=2 "))
    line = run_tutorial("--scheduler", "threads", "--threads", "2")[0]
    assert line.startswith("scheduler=threads threads=2 ")
    assert values_of(line) == values_of(rust)


def test_notebook_runs_with_nbclient():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(ROOT / "examples" / "tutorial.ipynb", as_version=4)
    # A smaller array than the notebook's: the cells are the same.
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = (
                cell.source.replace("(10000, 10000), chunks=(1000, 1000)", "(1000, 1000), chunks=(250, 250)")
                .replace("5000", "500")
            )
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3").execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any("<svg" in h for h in html)


def readme_python_blocks():
    text = (ROOT / "README.md").read_text()
    section = text.split("## Python", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


@pytest.mark.parametrize("index", range(len(readme_python_blocks())))
def test_readme_python_examples(index, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = readme_python_blocks()[index]
    exec(compile(code, f"README.md python block {index}", "exec"), {"__name__": "__readme__"})
