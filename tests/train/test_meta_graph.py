"""MetaGraphDef: Saver.save writes <prefix>.meta; import_meta_graph rebuilds graph and Saver."""

from __future__ import annotations

import os

import numpy as np
import pytest

import graphjit.compat.v1 as tf
from graphjit.train.meta_graph_pb import MetaGraphDef, SaverDef, VariableDef

X = np.arange(6, dtype=np.float32).reshape(2, 3) / 10


def _train_and_save(path, steps=3):
    """A small model with a cond, trained a few steps and saved; returns (prefix, expected)."""
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 3], name="x")
        w = tf.Variable(np.ones((3, 1), np.float32), name="w")
        b = tf.Variable(np.float32(0.5), name="b")
        loss = tf.reduce_mean(tf.square(tf.matmul(x, w) + b), name="loss")
        step = tf.train.get_or_create_global_step()
        train = tf.train.GradientDescentOptimizer(0.1).minimize(loss, global_step=step)
        tf.cond(step > 1, lambda: loss * 2.0, lambda: loss, name="scaled")
        tf.summary.scalar("loss", loss)
        saver = tf.train.Saver()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for _ in range(steps):
                sess.run(train, {x: X})
            prefix = saver.save(sess, os.path.join(path, "model"), global_step=step)
            expected = sess.run(["loss:0", "scaled:0"], {x: X})
            sess.run(train, {x: X})
            expected.append(sess.run(loss, {x: X}))
    return prefix, expected


def test_save_writes_a_meta_file_next_to_the_checkpoint(tmp_path):
    prefix, _ = _train_and_save(str(tmp_path))
    assert os.path.isfile(prefix + ".meta")
    mg = tf.train.read_meta_graph_file(prefix + ".meta")
    assert {"variables", "trainable_variables", "global_step", "train_op", "summaries"} <= set(
        mg.collection_def
    )
    assert mg.saver_def == SaverDef(
        filename_tensor_name="save/Const:0",
        save_tensor_name="save/tensor_names:0",
        restore_op_name="save/restore_all",
        max_to_keep=5,
        keep_checkpoint_every_n_hours=10000.0,
        version=SaverDef.V2,
    )
    names = {n.name for n in mg.graph_def.node}
    assert {"x", "w", "w/Assign", "w/read", "loss", "scaled"} <= names
    assert len(mg.graph_def.library.function) == 2  # the cond's branches


def test_variables_are_written_as_variable_defs(tmp_path):
    prefix, _ = _train_and_save(str(tmp_path))
    mg = tf.train.read_meta_graph_file(prefix + ".meta")
    defs = [VariableDef.FromString(b) for b in mg.collection_def["variables"].bytes_list.value]
    assert defs[0] == VariableDef(
        variable_name="w:0",
        initial_value_name="w/Initializer/initial_value:0",
        initializer_name="w/Assign",
        snapshot_name="w/read:0",
        trainable=True,
    )
    steps = mg.collection_def["global_step"].bytes_list.value
    assert VariableDef.FromString(steps[0]).trainable is False
    assert list(mg.collection_def["train_op"].node_list.value) == ["GradientDescent"]


def test_import_meta_graph_restores_and_training_continues(tmp_path):
    prefix, (loss, scaled, next_loss) = _train_and_save(str(tmp_path))
    with tf.Graph().as_default() as g:
        saver = tf.train.import_meta_graph(prefix + ".meta")
        assert [v.op.name for v in tf.global_variables()] == ["w", "b", "global_step"]
        assert [v.op.name for v in tf.trainable_variables()] == ["w", "b"]
        assert tf.train.get_global_step() is tf.global_variables()[2]
        (train,) = tf.get_collection("train_op")
        with tf.Session() as sess:
            saver.restore(sess, prefix)
            assert sess.run(tf.train.get_global_step()) == 3
            got = sess.run(["loss:0", "scaled:0"], {"x:0": X})
            np.testing.assert_allclose(got, [loss, scaled], rtol=1e-6)
            sess.run(train, {"x:0": X})
            np.testing.assert_allclose(sess.run(g.get_tensor_by_name("loss:0"), {"x:0": X}),
                                       next_loss, rtol=1e-6)  # fmt: skip


def test_imported_variables_initialize_from_their_initializers(tmp_path):
    prefix, _ = _train_and_save(str(tmp_path))
    with tf.Graph().as_default():
        tf.train.import_meta_graph(prefix + ".meta")
        w = tf.trainable_variables()[0]
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            np.testing.assert_array_equal(sess.run(w), np.ones((3, 1), np.float32))
            np.testing.assert_array_equal(sess.run(w.initial_value), np.ones((3, 1)))
            assert w.trainable and w.value().name == "w/read:0"


def test_import_scope_prefixes_names_but_not_checkpoint_keys(tmp_path):
    prefix, (loss, _, _) = _train_and_save(str(tmp_path))
    with tf.Graph().as_default() as g:
        saver = tf.train.import_meta_graph(prefix + ".meta", import_scope="m")
        assert [v.op.name for v in tf.global_variables()] == ["m/w", "m/b", "m/global_step"]
        assert saver.saver_def.restore_op_name == "m/save/restore_all"
        with tf.Session() as sess:
            saver.restore(sess, prefix)
            got = sess.run(g.get_tensor_by_name("m/loss:0"), {"m/x:0": X})
        np.testing.assert_allclose(got, loss, rtol=1e-6)


def test_saver_def_round_trips_through_the_savers_collection(tmp_path):
    prefix, _ = _train_and_save(str(tmp_path))
    with tf.Graph().as_default():
        tf.train.import_meta_graph(prefix + ".meta")
        (from_collection,) = tf.get_collection("savers")
        with tf.Session() as sess:
            from_collection.restore(sess, prefix)
            path = from_collection.save(sess, str(tmp_path / "again"))
        assert dict(tf.train.list_variables(path)) == dict(tf.train.list_variables(prefix))


def test_custom_checkpoint_keys_survive_import(tmp_path):
    with tf.Graph().as_default():
        v = tf.Variable([1.0, 2.0], name="v")
        saver = tf.train.Saver({"renamed": v})
        with tf.Session() as sess:
            sess.run(v.initializer)
            sess.run(v.assign([5.0, 6.0]))
            prefix = saver.save(sess, str(tmp_path / "ck"))
    with tf.Graph().as_default():
        restorer = tf.train.import_meta_graph(prefix + ".meta")
        with tf.Session() as sess:
            restorer.restore(sess, prefix)
            np.testing.assert_array_equal(sess.run("v:0"), [5.0, 6.0])


def test_saver_from_saver_def_uses_its_retention_settings():
    with tf.Graph().as_default():
        tf.Variable(1.0, name="v")
        sd = tf.train.Saver(max_to_keep=2).as_saver_def()
        again = tf.train.Saver(saver_def=sd)
        assert again._max_to_keep == 2 and again.as_saver_def() == sd
        assert tf.train.Saver.from_proto(sd).to_proto() == sd


def test_write_meta_graph_false_and_suffix(tmp_path):
    with tf.Graph().as_default():
        v = tf.Variable(1.0, name="v")
        saver = tf.train.Saver()
        with tf.Session() as sess:
            sess.run(v.initializer)
            a = saver.save(sess, str(tmp_path / "a"), write_meta_graph=False)
            b = saver.save(sess, str(tmp_path / "b"), meta_graph_suffix="graph")
    assert not os.path.exists(a + ".meta")
    assert os.path.isfile(b + ".graph")


def test_export_meta_graph_to_file_and_import_the_message(tmp_path):
    path = str(tmp_path / "sub" / "g.meta")
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [], name="x")
        with tf.device("/cpu:0"):
            y = tf.multiply(x, 3.0, name="y")
        tf.add_to_collection("outputs", y)
        tf.add_to_collection("numbers", 4)
        tf.add_to_collection("names", "hello")
        tf.add_to_collection("floats", 0.5)
        tf.add_to_collection("junk", object())
        mg = tf.train.export_meta_graph(path)
    assert isinstance(mg, MetaGraphDef) and "junk" not in mg.collection_def
    assert mg == tf.train.read_meta_graph_file(path)
    with tf.Graph().as_default() as g:
        assert tf.train.import_meta_graph(mg, clear_devices=True) is None  # no variables
        assert g.get_operation_by_name("y").device == ""
        assert tf.get_collection("outputs") == [g.get_tensor_by_name("y:0")]
        assert tf.get_collection("numbers") == [4] and tf.get_collection("floats") == [0.5]
        assert tf.get_collection("names") == [b"hello"]
        assert tf.Session().run("y:0", {"x:0": 2.0}) == 6.0


def test_meta_graph_without_saver_def_returns_a_new_saver():
    with tf.Graph().as_default():
        tf.Variable(1.0, name="v")
        mg = tf.train.export_meta_graph()
    assert not mg.HasField("saver_def")
    with tf.Graph().as_default():
        saver = tf.train.import_meta_graph(mg)
        assert isinstance(saver, tf.train.Saver)
        assert saver.as_saver_def().restore_op_name == "save/restore_all"


def test_unreadable_meta_files_raise(tmp_path):
    with pytest.raises(OSError, match="does not exist"):
        tf.train.import_meta_graph(str(tmp_path / "missing.meta"))
    text = tmp_path / "t.meta"
    with tf.Graph().as_default():
        tf.constant(1.0, name="c")
        tf.train.export_meta_graph(str(text), as_text=True)
    assert text.read_text().startswith("meta_info_def {")
    with pytest.raises(ValueError, match="text-format"):
        tf.train.import_meta_graph(str(text))


def test_tensorflow_saver_defs_are_refused():
    with tf.Graph().as_default():
        tf.constant(1.0, name="save/Const")
        tf.no_op(name="save/restore_all")
        tf.identity(tf.constant("x"), name="save/control_dependency")
        sd = SaverDef(
            filename_tensor_name="save/Const:0",
            save_tensor_name="save/control_dependency:0",
            restore_op_name="save/restore_all",
        )
        with pytest.raises(ValueError, match="not written by a graphjit Saver"):
            tf.train.Saver(saver_def=sd)


def test_variable_from_variable_def_reuses_graph_elements():
    with tf.Graph().as_default() as g:
        v = tf.Variable([1.0], name="v", trainable=False)
        n_ops = len(g.get_operations())
        from graphjit.train.meta_graph import variable_to_proto

        w = tf.Variable(variable_def=variable_to_proto(v))
        assert len(g.get_operations()) == n_ops and tf.global_variables() == [v]
        assert (w.op, w.initializer, w.value(), w.trainable) == (
            v.op,
            v.initializer,
            v.value(),
            False,
        )


def test_save_keeps_the_checkpoint_when_the_graph_cannot_be_exported(tmp_path, monkeypatch):
    def refuse(self, *args, **kwargs):  # an export failure, planted
        raise ValueError("Cannot export this graph (planted by the test)")

    from graphjit import graph_io

    with tf.Graph().as_default():
        v = tf.Variable(1.0, name="v")
        saver = tf.train.Saver()
        monkeypatch.setattr(graph_io, "graph_def_of", refuse)
        with tf.Session() as sess:
            sess.run(v.initializer)
            prefix = saver.save(sess, str(tmp_path / "m"))
    assert os.path.isfile(prefix + ".index") and not os.path.exists(prefix + ".meta")
    assert tf.train.latest_checkpoint(str(tmp_path)) == prefix
