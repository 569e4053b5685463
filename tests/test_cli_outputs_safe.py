"""--out and the shared output helper: never write through a symbolic link, find a directory in a
figure's place before any work, name a dangling --out link, and say what Ctrl-C left."""

import os

import pytest

from bayes_agent.cli import main

FIG = "delusion_ensemble_actor_do.png"
SMALL = ["simulate", "--runs", "2", "--steps", "4", "--json"]


def test_a_dangling_link_inside_out_is_never_written_through(tmp_path, capsys):
    out, outside = tmp_path / "o5", tmp_path / "outside.png"
    out.mkdir()
    os.symlink(outside, out / FIG)
    assert main([*SMALL, "--out", str(out), "--overwrite"]) == 2
    err = capsys.readouterr().err
    assert "symbolic link" in err and "never written through" in err and err.count("\n") == 1
    assert not outside.exists() and sorted(p.name for p in out.iterdir()) == [FIG]


def test_a_directory_in_a_figures_place_is_found_before_any_work(tmp_path, capsys):
    out = tmp_path / "o"
    (out / "delusion_trajectory.png").mkdir(parents=True)
    assert main([*SMALL, "--out", str(out), "--overwrite"]) == 2
    assert "is a directory" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["delusion_trajectory.png"]  # no figure written first


def test_out_as_a_dangling_link_is_named(tmp_path, capsys):
    link = tmp_path / "o4"
    os.symlink(tmp_path / "nowhere", link)
    assert main([*SMALL, "--out", str(link)]) == 2
    err = capsys.readouterr().err
    assert "symbolic link" in err and "does not exist" in err and "File exists" not in err


def test_check_output_file_refuses_a_link(tmp_path):
    from bayes_agent.commands._common import check_output_file
    from bayes_agent.errors import InvalidArgument

    os.symlink(tmp_path / "elsewhere", tmp_path / "f.json")
    with pytest.raises(InvalidArgument, match="symbolic link"):
        check_output_file(str(tmp_path / "f.json"), overwrite=True)


def _ctrl_c(*args, **kwargs):
    raise KeyboardInterrupt


def test_ctrl_c_before_any_figure_removes_the_new_folder(tmp_path, capsys, monkeypatch):
    import bayes_agent.simulate as sim

    monkeypatch.setattr(sim, "simulate_many", _ctrl_c)
    out = tmp_path / "new"
    assert main([*SMALL, "--out", str(out)]) == 130
    err = capsys.readouterr().err
    assert "nothing was kept" in err and not out.exists()
    # the line names the phase Ctrl-C came in: the simulation, not the figures (none was written)
    assert "interrupted while simulating; it had written no new file;" in err, err
    assert "writing the figures" not in err and "removed the files" not in err


def test_ctrl_c_after_some_figures_leaves_none_of_them(tmp_path, capsys, monkeypatch):
    import bayes_agent.simulate as sim

    monkeypatch.setattr(sim, "plot_trajectory", _ctrl_c)
    out = tmp_path / "new"
    assert main([*SMALL, "--out", str(out)]) == 130
    err = capsys.readouterr().err
    assert "interrupted while writing the figures; removed the files this run had written" in err, err
    assert "rerun needs no --overwrite" in err
    assert not out.exists()  # the two figures written before Ctrl-C and the new folder are gone
    monkeypatch.undo()
    assert main([*SMALL, "--out", str(out)]) == 0  # so a rerun is not refused


def test_ctrl_c_keeps_figures_that_predate_the_run(tmp_path, capsys, monkeypatch):
    import bayes_agent.simulate as sim

    out = tmp_path / "old"
    out.mkdir()
    (out / FIG).write_bytes(b"earlier")
    monkeypatch.setattr(sim, "plot_trajectory", _ctrl_c)
    assert main([*SMALL, "--out", str(out), "--overwrite"]) == 130
    err = capsys.readouterr().err
    assert FIG in err and "--overwrite" in err
    assert sorted(p.name for p in out.iterdir()) == [FIG]


def test_save_figure_replaces_a_link_instead_of_writing_through_it(tmp_path):
    from bayes_agent import plot_trajectory, simulate_trajectory, two_action_mixture

    outside = tmp_path / "outside.png"
    os.symlink(outside, tmp_path / "t.png")
    plot_trajectory(simulate_trajectory(two_action_mixture(), "p_B", steps=4), tmp_path / "t.png")
    assert not outside.exists() and not (tmp_path / "t.png").is_symlink()
    assert (tmp_path / "t.png").read_bytes()[:4] == b"\x89PNG"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.png"]  # no .partial left


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs a /proc file system")
def test_a_folder_that_takes_no_new_files_is_named_as_such(capsys):
    assert main(["simulate", "--out", "/proc/bayes-agent-x"]) == 2
    err = capsys.readouterr().err
    assert "'/proc' does not accept new files" in err and "not writable" not in err
