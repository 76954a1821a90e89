"""Checkpoints: round trip, atomicity, retention, state file and restore errors."""

from __future__ import annotations

import os

import numpy as np
import pytest

import graphjit.compat.v1 as tf
from graphjit.train import saver as saver_mod


def _model():
    x = tf.placeholder(tf.float32, [None, 3], name="x")
    y = tf.placeholder(tf.float32, [None], name="y")
    w = tf.Variable(np.array([[0.5], [-1.0], [2.0]], np.float32), name="w")
    b = tf.Variable(np.float32(0.1), name="b")
    pred = tf.reshape(tf.matmul(x, w), [-1]) + b
    loss = tf.reduce_mean(tf.square(pred - y))
    step = tf.train.AdamOptimizer(0.05).minimize(
        loss, global_step=tf.train.get_or_create_global_step()
    )
    return x, y, loss, step


X = np.arange(12, dtype=np.float32).reshape(4, 3) / 10
Y = np.array([1.0, 0.0, -1.0, 2.0], np.float32)


def test_save_restore_gives_identical_variables_and_next_step_loss(tmp_path):
    with tf.Graph().as_default():
        x, y, loss, step = _model()
        saver = tf.train.Saver()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            f = sess.make_callable([loss, step], [x, y])
            for _ in range(5):
                f(X, Y)
            prefix = saver.save(
                sess, str(tmp_path / "model"), global_step=tf.train.get_global_step()
            )
            saved = {v.op.name: sess.run(v) for v in tf.global_variables()}
            expected_next = f(X, Y)[0]
        assert os.path.basename(prefix) == "model-5"
        with tf.Session() as sess2:
            saver.restore(sess2, prefix)
            for v in tf.global_variables():  # slots, beta powers and the step included
                np.testing.assert_array_equal(sess2.run(v), saved[v.op.name])
            assert sess2.make_callable([loss, step], [x, y])(X, Y)[0] == expected_next


def test_restore_in_a_new_graph_by_name(tmp_path):
    with tf.Graph().as_default():
        v = tf.Variable([1.0, 2.0], name="v")
        s = tf.train.Saver()
        with tf.Session() as sess:
            sess.run(v.initializer)
            sess.run(v.assign([3.0, 4.0]))
            path = s.save(sess, str(tmp_path / "ckpt"))
    with tf.Graph().as_default():
        v = tf.Variable([0.0, 0.0], name="v")
        with tf.Session() as sess:
            tf.train.Saver().restore(sess, path)
            np.testing.assert_array_equal(sess.run(v), [3.0, 4.0])
    assert tf.train.list_variables(str(tmp_path)) == [("v", [2])]
    np.testing.assert_array_equal(tf.train.load_variable(str(tmp_path), "v"), [3.0, 4.0])


def test_interrupted_save_leaves_previous_checkpoint_loadable(tmp_path, monkeypatch):
    with tf.Graph().as_default():
        v = tf.Variable([1.0, 2.0], name="v")
        s = tf.train.Saver()
        with tf.Session() as sess:
            sess.run(v.initializer)
            first = s.save(sess, str(tmp_path / "m"), global_step=1)
            same = s.save(sess, str(tmp_path / "same"))
            sess.run(v.assign([7.0, 8.0]))

            def crash(f, chunk):
                f.write(chunk[: len(chunk) // 2])
                raise OSError("disk full")

            monkeypatch.setattr(saver_mod, "_write_chunk", crash)
            with pytest.raises(OSError, match="disk full"):
                s.save(sess, str(tmp_path / "m"), global_step=2)
            with pytest.raises(OSError, match="disk full"):
                s.save(sess, str(tmp_path / "same"))  # overwriting the same prefix
            monkeypatch.undo()
        assert tf.train.latest_checkpoint(str(tmp_path)) is not None
        assert not [n for n in os.listdir(tmp_path) if ".tmp" in n]
        assert not os.path.exists(str(tmp_path / "m-2.index"))
        with tf.Session() as sess:
            for path in (first, same):
                s.restore(sess, path)
                np.testing.assert_array_equal(sess.run(v), [1.0, 2.0])


def test_max_to_keep_deletes_oldest_checkpoints(tmp_path):
    with tf.Graph().as_default():
        v = tf.Variable(1.0, name="v")
        s = tf.train.Saver(max_to_keep=2)
        with tf.Session() as sess:
            sess.run(v.initializer)
            paths = [s.save(sess, str(tmp_path / "m"), global_step=i) for i in range(4)]
    assert s.last_checkpoints == paths[2:]
    assert sorted(os.listdir(tmp_path)) == [
        "checkpoint",
        "m-2.data-00000-of-00001",
        "m-2.index",
        "m-2.meta",
        "m-3.data-00000-of-00001",
        "m-3.index",
        "m-3.meta",
    ]
    state = tf.train.get_checkpoint_state(str(tmp_path))
    assert state.model_checkpoint_path == paths[3]
    assert state.all_model_checkpoint_paths == paths[2:]
    text = (tmp_path / "checkpoint").read_text()
    assert text.startswith(f'model_checkpoint_path: "{paths[3]}"\n')
    assert f'all_model_checkpoint_paths: "{paths[2]}"\n' in text
    assert tf.train.latest_checkpoint(str(tmp_path)) == paths[3]


def test_relative_save_path_is_resolved_against_the_checkpoint_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    os.mkdir("ck")
    with tf.Graph().as_default():
        v = tf.Variable(1.0, name="v")
        s = tf.train.Saver()
        with tf.Session() as sess:
            sess.run(v.initializer)
            s.save(sess, "ck/model", global_step=3)
    assert 'model_checkpoint_path: "model-3"' in (tmp_path / "ck" / "checkpoint").read_text()
    assert tf.train.latest_checkpoint("ck") == os.path.join("ck", "model-3")


def test_restore_missing_variable_raises_not_found_and_changes_nothing(tmp_path):
    with tf.Graph().as_default():
        a = tf.Variable(1.0, name="a")
        with tf.Session() as sess:
            sess.run(a.initializer)
            path = tf.train.Saver().save(sess, str(tmp_path / "m"))
    with tf.Graph().as_default():
        a = tf.Variable(5.0, name="a")
        b = tf.Variable(6.0, name="b")
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            with pytest.raises(tf.errors.NotFoundError, match="Key b not found in checkpoint"):
                tf.train.Saver().restore(sess, path)
            assert sess.run([a, b]) == [5.0, 6.0]


def test_restore_shape_mismatch_raises_invalid_argument_naming_the_variable(tmp_path):
    with tf.Graph().as_default():
        w = tf.Variable(np.zeros([2, 3], np.float32), name="layer/w")
        with tf.Session() as sess:
            sess.run(w.initializer)
            path = tf.train.Saver().save(sess, str(tmp_path / "m"))
    with tf.Graph().as_default():
        w = tf.Variable(np.ones([3, 3], np.float32), name="layer/w")
        with tf.Session() as sess:
            sess.run(w.initializer)
            with pytest.raises(tf.errors.InvalidArgumentError, match=r"layer/w") as e:
                tf.train.Saver().restore(sess, path)
            assert "lhs shape= [3, 3] rhs shape= [2, 3]" in str(e.value)
            np.testing.assert_array_equal(sess.run(w), np.ones([3, 3]))


def test_restore_of_a_nonexistent_path_raises_value_error(tmp_path):
    with tf.Graph().as_default():
        tf.Variable(1.0, name="a")
        with tf.Session() as sess:
            with pytest.raises(ValueError, match="not a valid checkpoint"):
                tf.train.Saver().restore(sess, str(tmp_path / "nope"))
    assert tf.train.latest_checkpoint(str(tmp_path)) is None


def test_corrupt_data_file_raises_data_loss(tmp_path):
    with tf.Graph().as_default():
        a = tf.Variable([1.0, 2.0], name="a")
        s = tf.train.Saver()
        with tf.Session() as sess:
            sess.run(a.initializer)
            path = s.save(sess, str(tmp_path / "m"))
            with open(path + ".data-00000-of-00001", "r+b") as f:
                f.write(b"\xff")
            with pytest.raises(tf.errors.DataLossError):
                s.restore(sess, path)


def test_index_is_json_and_data_is_raw_little_endian(tmp_path):
    import json

    with tf.Graph().as_default():
        a = tf.Variable(np.array([1.5, -2.0], np.float32), name="a")
        n = tf.Variable(np.array([[1, 2]], np.int64), name="n")
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            path = tf.train.Saver({"alpha": a, "n": n}).save(sess, str(tmp_path / "m"))
    index = json.loads(open(path + ".index").read())
    data = open(path + ".data-00000-of-00001", "rb").read()
    e = index["tensors"]["alpha"]
    assert (e["dtype"], e["shape"]) == ("float32", [2])
    np.testing.assert_array_equal(
        np.frombuffer(data[e["offset"] : e["offset"] + e["length"]], "<f4"), [1.5, -2.0]
    )
    assert index["tensors"]["n"]["dtype"] == "int64"


def test_saver_without_variables_raises_value_error():
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="No variables to save"):
            tf.train.Saver()
        assert tf.train.Saver(allow_empty=True).last_checkpoints == []
