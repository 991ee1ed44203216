"""MultiWorkerMirroredStrategy on 2 MPI ranks (mpirun, loopback): the same weights as
one process on the same global batch, the tutorial's loop, and faults that are named."""
import os
import re

import numpy as np
import pytest

import mpi_run

# float32 rounding of sums taken in a different order, over a few steps.
ATOL = 1e-6


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory):
    """One mpirun of the equivalence worker, shared by the tests that read its results."""
    directory = tmp_path_factory.mktemp("two_ranks")
    process = mpi_run.run("equivalence.py", ["multi_worker", directory])
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    return mpi_run.results(directory, 2)


def test_fit_on_two_ranks_gives_the_weights_of_one_process(two_ranks):
    for result in two_ranks:
        assert result["replicas"] == 2
        assert result["fit_max_diff"] < ATOL


def test_fit_history_on_two_ranks_matches_one_process(two_ranks):
    for result in two_ranks:
        ref, dist = result["ref_history"], result["dist_history"]
        assert ref.keys() == dist.keys()
        for name in ref:
            assert ref[name] == pytest.approx(dist[name], abs=ATOL)


def test_custom_loop_on_two_ranks_gives_the_weights_of_one_process(two_ranks):
    for result in two_ranks:
        assert result["loop_max_diff"] < ATOL
        assert result["ref_losses"] == pytest.approx(result["dist_losses"], abs=ATOL)


def test_evaluate_and_predict_on_two_ranks_cover_all_examples(two_ranks):
    for result in two_ranks:
        assert result["ref_eval"] == pytest.approx(result["dist_eval"], abs=ATOL)
        assert result["predict_max_diff"] < 1e-5


def test_workers_end_with_identical_weights(two_ranks):
    assert two_ranks[0]["weights_checksum"] == two_ranks[1]["weights_checksum"]


def test_only_the_chief_writes_the_saved_weights(two_ranks):
    assert two_ranks[0]["saved"] and not two_ranks[0]["save_skipped"]
    assert two_ranks[1]["save_skipped"]


def test_tutorial_loop_on_two_ranks_matches_one_process(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    single = mpi_run.run("tutorial.py", np=0, env={"RESULT_DIR": str(one)})
    assert single.returncode == 0, single.stderr[-3000:]
    assert "Epoch 2, Loss: tf.Tensor(" in single.stdout
    multi = mpi_run.run("tutorial.py", env={"RESULT_DIR": str(two),
                                            "TAPEFLOW_MULTI_WORKER": "1"})
    assert multi.returncode == 0, multi.stdout[-3000:] + multi.stderr[-3000:]
    (ref,) = mpi_run.results(one, 1)
    for result in mpi_run.results(two, 2):
        assert (ref["replicas"], result["replicas"]) == (1, 2)
        assert result["train_loss"] == pytest.approx(ref["train_loss"], abs=ATOL)
        for a, b in zip(ref["weights"], result["weights"]):
            np.testing.assert_allclose(b, a, atol=ATOL)


def _fault(mode, env=None):
    process = mpi_run.run("faults.py", [mode], timeout=90, env=env)
    assert process.returncode != 0
    assert "RESULT finished" not in process.stdout
    return process.stdout + process.stderr


def test_a_rank_raising_in_a_step_stops_the_other_naming_it():
    output = _fault("raise_in_step")
    assert "worker rank 1 of 2 failed, so rank 0 stops: ValueError: boom in the step" in output


def test_a_rank_raising_between_steps_aborts_every_worker_naming_it():
    output = _fault("raise_outside")
    assert "worker rank 1 of 2 raised RuntimeError: boom between the steps" in output


def test_workers_with_different_step_counts_are_named():
    output = _fault("steps")
    assert "workers disagree on the number of steps: rank(s) [1] finished their data" in output


def test_workers_with_different_variable_shapes_are_named():
    output = _fault("shapes")
    assert "rank 0 has dense" in output and "of shape (4, 4)" in output
    assert "of shape (4, 5)" in output


def test_a_rank_that_dies_ends_the_job_and_mpirun_names_it():
    output = _fault("die")
    # Open MPI names the process as [[job, 1], rank] with its exit code.
    assert re.search(r"Process name: \[\[\d+,1\],1\]\s+Exit code:\s+3", output)


def test_a_stuck_rank_ends_the_job_after_the_timeout():
    output = _fault("hang", env={"TAPEFLOW_DISTRIBUTE_TIMEOUT": "3"})
    assert "worker rank 0 of 2 waited 3 s for the other workers" in output


@pytest.mark.slow
def test_backup_and_restore_resumes_a_multi_worker_fit(tmp_path):
    backup, results = tmp_path / "backup", tmp_path / "results"
    results.mkdir()
    first = mpi_run.run("backup.py", ["interrupt", backup], env={"RESULT_DIR": str(results)})
    assert first.returncode == 0, first.stderr[-3000:]
    assert sorted(os.listdir(backup)) == ["latest.weights.h5", "training_metadata.json"]
    second = mpi_run.run("backup.py", ["resume", backup], env={"RESULT_DIR": str(results)})
    assert second.returncode == 0, second.stderr[-3000:]
    resumed = mpi_run.results(results, 2)
    assert [r["epochs_run"] for r in resumed] == [2, 2]       # epochs 3 and 4 only
    np.testing.assert_array_equal(np.array(resumed[0]["weights"][0]),
                                  np.array(resumed[1]["weights"][0]))
    assert not (backup / "latest.weights.h5").exists()         # deleted after completion
