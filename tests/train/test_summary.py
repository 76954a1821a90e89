"""Event files: CRC-32C, TFRecord framing, summary ops and FileWriter round trips."""

from __future__ import annotations

import glob
import struct

import numpy as np
import pytest

import graphjit.compat.v1 as tf
from graphjit.train.records import crc32c, encode_record, masked_crc32c, read_records
from graphjit.train.summary import histogram_proto, summary_iterator


@pytest.mark.parametrize(
    ("data", "crc"),
    [
        (b"", 0x00000000),
        (b"123456789", 0xE3069283),
        (bytes(32), 0x8A9136AA),
        (b"\xff" * 32, 0x62A8AB43),
        (bytes(range(32)), 0x46DD794E),
        (bytes(range(31, -1, -1)), 0x113FDB5C),
    ],
)
def test_crc32c_matches_known_vectors(data, crc):
    assert crc32c(data) == crc


def test_crc32c_continues_across_chunks():
    assert crc32c(b"6789", crc32c(b"12345")) == crc32c(b"123456789")


def test_record_framing_and_round_trip(tmp_path):
    rec = encode_record(b"hello")
    assert struct.unpack("<Q", rec[:8])[0] == 5
    assert struct.unpack("<I", rec[8:12])[0] == masked_crc32c(rec[:8])
    assert struct.unpack("<I", rec[-4:])[0] == masked_crc32c(b"hello")
    path = tmp_path / "r"
    path.write_bytes(encode_record(b"a") + encode_record(b"") + encode_record(b"xyz" * 100))
    assert list(read_records(str(path))) == [b"a", b"", b"xyz" * 100]


def test_corrupt_record_raises_data_loss_and_truncated_tail_is_ignored(tmp_path):
    good = encode_record(b"first") + encode_record(b"second")
    (tmp_path / "t").write_bytes(good[:-3])
    assert list(read_records(str(tmp_path / "t"))) == [b"first"]
    bad = bytearray(good)
    bad[14] ^= 1
    (tmp_path / "c").write_bytes(bytes(bad))
    with pytest.raises(tf.errors.DataLossError):
        list(read_records(str(tmp_path / "c")))


def test_summary_ops_and_file_writer_round_trip(tmp_path):
    with tf.Graph().as_default() as g:
        x = tf.placeholder(tf.float32, [None])
        tf.summary.scalar("loss", tf.reduce_mean(x))
        tf.summary.histogram("w", x)
        tf.summary.text("note", tf.constant("hello"))
        merged = tf.summary.merge_all()
        writer = tf.summary.FileWriter(str(tmp_path), g)
        with tf.Session() as sess:
            for step in (1, 2):
                writer.add_summary(sess.run(merged, {x: [1.0, 2.0, 3.0 * step]}), step)
        writer.close()
    (path,) = glob.glob(str(tmp_path / "events.out.tfevents.*"))
    events = list(summary_iterator(path))
    assert events[0].file_version == "brain.Event:2"
    assert tf.GraphDef.FromString(events[1].graph_def).node[0].name == "Placeholder"
    steps = [e for e in events if e.WhichOneof("what") == "summary"]
    assert [e.step for e in steps] == [1, 2]
    loss, hist, text = steps[1].summary.value
    assert (loss.tag, loss.simple_value) == ("loss", 3.0)
    assert (hist.tag, hist.histo.num, hist.histo.max, hist.histo.sum) == ("w", 3.0, 6.0, 9.0)
    assert text.tensor.string_val == [b"hello"]
    # plugin metadata is written once per tag
    assert steps[0].summary.value[2].metadata.plugin_data.plugin_name == "text"
    assert not steps[1].summary.value[2].HasField("metadata")


def test_scalar_summary_tags_follow_name_scopes_and_family():
    with tf.Graph().as_default():
        with tf.name_scope("train"):
            a = tf.summary.scalar("loss", 1.0)
        b = tf.summary.scalar("loss", 2.0)
        c = tf.summary.scalar("acc", 3.0, family="eval")
        out = tf.Session().run(tf.summary.merge([a, b, c]))
    tags = [v.tag for v in tf.Summary.FromString(out).value]
    assert tags == ["train/loss", "loss", "eval/eval/acc"]


def test_merge_with_duplicate_tags_raises_invalid_argument():
    with tf.Graph().as_default():
        a = tf.summary.scalar("x", 1.0, collections=[])
        m = tf.summary.merge([a, a])
        with pytest.raises(tf.errors.InvalidArgumentError, match="Duplicate tag x"):
            tf.Session().run(m)


def test_histogram_of_nan_raises_invalid_argument():
    with tf.Graph().as_default():
        h = tf.summary.histogram("h", tf.constant([1.0, np.nan]))
        with pytest.raises(tf.errors.InvalidArgumentError, match="Nan in summary histogram"):
            tf.Session().run(h)


def test_histogram_buckets_match_tensorflow():
    tft = pytest.importorskip("tensorflow")
    values = np.array([1.0, 2.0, 3.0, -0.5, 0.0, 1e-3, 250.0], np.float32)
    g = tft.Graph()
    with g.as_default():
        op = tft.compat.v1.summary.histogram("h", tft.constant(values))
        with tft.compat.v1.Session() as s:
            theirs = tft.compat.v1.Summary.FromString(s.run(op)).value[0].histo
    ours = histogram_proto(values)
    assert list(ours.bucket_limit) == list(theirs.bucket_limit)
    assert list(ours.bucket) == list(theirs.bucket)


def test_event_file_is_readable_by_tensorboard(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing import event_accumulator

    with tf.Graph().as_default():
        s = tf.summary.scalar("loss", tf.constant(0.25))
        with tf.summary.FileWriter(str(tmp_path)) as w, tf.Session() as sess:
            w.add_summary(sess.run(s), 7)
    acc = event_accumulator.EventAccumulator(str(tmp_path))
    acc.Reload()
    (ev,) = acc.Scalars("loss")
    assert (ev.step, ev.value) == (7, 0.25)


def test_file_writer_skips_a_graph_without_graphdef_form_with_a_warning(
    tmp_path, caplog, monkeypatch
):
    g = tf.Graph()
    with g.as_default():
        tf.placeholder(tf.float32, [])

    def refuse(self, *args, **kwargs):  # an export failure, planted
        raise ValueError("Cannot export this graph (planted by the test)")

    monkeypatch.setattr(type(g), "as_graph_def", refuse)
    with caplog.at_level("WARNING", logger="graphjit.summary"):
        writer = tf.summary.FileWriter(str(tmp_path), graph=g)
        writer.close()
    assert "graph not written" in caplog.text
    assert len(list(tmp_path.iterdir())) == 1  # the event file itself is still written
