"""The README's Python example runs as shown and prints what it says."""

import contextlib
import io
import os
import re

from conftest import REPOSITORY


def test_the_readme_example_runs_as_shown():
    readme = (REPOSITORY / "README.md").read_text()
    section = readme.split("\n## Python\n", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    printed = io.StringIO()
    here = os.getcwd()
    os.chdir(REPOSITORY)
    try:
        with contextlib.redirect_stdout(printed):
            exec(compile(code, "README.md", "exec"), {})
    finally:
        os.chdir(here)
    lines = printed.getvalue().splitlines()
    assert "[7 2 1 0]" in lines
    assert "[2 8 2] (3, 10)" in lines
    assert lines[-1] == "[[2.]]"
    r2, twin = map(float, lines[-2].split())
    assert r2 > 0.99 and abs(r2 - twin) < 0.01
