"""tf_lsrec.utils.run_files: a run's results and training log in both layouts."""

from tf_lsrec.utils.run_files import published_paths, run_results, training_log_of


def test_training_log_is_found_in_the_run_directory_and_in_the_published_layout(tmp_path):
    run = tmp_path / "runs" / "clsr-seed1"
    run.mkdir(parents=True)
    (run / "results.json").write_text("{}")
    assert training_log_of(str(run / "results.json")) is None  # not written (yet)
    (run / "training_log.csv").write_text("epoch\n1\n")
    assert training_log_of(str(run / "results.json")) == str(run / "training_log.csv")

    results, log = published_paths(str(tmp_path / "pub"), "clsr-seed1")
    assert (results, log) == (
        str(tmp_path / "pub" / "clsr-seed1.json"),
        str(tmp_path / "pub" / "clsr-seed1.training_log.csv"),
    )
    (tmp_path / "pub").mkdir()
    open(results, "w").close()
    assert training_log_of(results) is None
    open(log, "w").close()
    assert training_log_of(results) == log


def test_run_results_lists_both_layouts_and_nothing_else(tmp_path):
    for name in ("b-seed1", "a-seed2"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "results.json").write_text("{}")
    for name in ("gru4rec-seed2.json", "gru4rec-seed1.json", "summary.json"):
        (tmp_path / name).write_text("{}")
    (tmp_path / "gru4rec-seed1.training_log.csv").write_text("epoch\n")
    assert run_results(str(tmp_path)) == [
        str(tmp_path / "a-seed2" / "results.json"),
        str(tmp_path / "b-seed1" / "results.json"),
        str(tmp_path / "gru4rec-seed1.json"),
        str(tmp_path / "gru4rec-seed2.json"),
    ]
