"""examples/notebooks/replay.ipynb, its code cells run in-process (scripts/test-python also runs it
in a Jupyter kernel): the trajectory markers take their line's colour, and the notebook shows
kills, health, projectiles and a rendered frame."""

from __future__ import annotations

import json

import pytest

from conftest import ROOT, cli_binary

NOTEBOOK = ROOT / "examples" / "notebooks" / "replay.ipynb"


def test_the_notebook_runs_and_its_plots_say_what_they_show(monkeypatch: pytest.MonkeyPatch) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_rgba

    monkeypatch.setenv("FRAMELOCK_CLI", str(cli_binary()))
    monkeypatch.chdir(ROOT)
    cells = [c for c in json.loads(NOTEBOOK.read_text())["cells"] if c["cell_type"] == "code"]
    plt.close("all")
    namespace: dict[str, object] = {"__name__": "notebook"}
    figures = []
    for i, cell in enumerate(cells):
        before = set(plt.get_fignums())
        exec(compile("".join(cell["source"]), f"{NOTEBOOK}:cell{i}", "exec"), namespace)
        figures += [plt.figure(n) for n in plt.get_fignums() if n not in before]
    titles = {ax.get_title(): ax for fig in figures for ax in fig.axes}

    trajectories = titles["trajectories (o start, x end)"]
    lines = trajectories.get_lines()
    assert len(lines) == 4 and len(trajectories.collections) == 8
    for k, line in enumerate(lines):
        colour = to_rgba(line.get_color())
        start, end = trajectories.collections[2 * k], trajectories.collections[2 * k + 1]
        for marker in (start, end):
            assert tuple(marker.get_facecolor()[0]) == pytest.approx(colour), f"player {k}'s markers"
        assert tuple(start.get_offsets()[0]) == pytest.approx(tuple(line.get_xydata()[0]))
        assert tuple(end.get_offsets()[0]) == pytest.approx(tuple(line.get_xydata()[-1]))

    kills_ax = titles["kills over time"]
    assert len(kills_ax.get_lines()) == 4
    assert max(max(line.get_ydata()) for line in kills_ax.get_lines()) > 0, "kills are plotted"
    frame_title = next(t for t in titles if t.startswith("frame "))
    image = titles[frame_title].get_images()[0].get_array()
    assert image.shape == (384, 384, 3)
    assert "projectiles" in frame_title and int(frame_title.split(": ")[1].split()[0]) > 0
    plt.close("all")
