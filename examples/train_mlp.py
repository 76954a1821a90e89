"""Train a small MLP classifier with graphjit (and TensorFlow side by side, when installed).

The model is written once, as a function of the ``tf`` module, and run unchanged on
``graphjit.compat.v1`` and on ``tensorflow.compat.v1``. The data is a synthetic 3-class spiral
generated with numpy (fixed seed, nothing downloaded). Each training step is one call of
``sess.make_callable([loss, train_op], [x, y])``.

    python examples/train_mlp.py                 # 600 steps of Adam
    python examples/train_mlp.py --quick         # a few seconds
    python examples/train_mlp.py --optimizer sgd --steps 2000 --batch 64
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

import numpy as np

N_CLASSES = 3
N_HIDDEN = 64


def make_spiral(n_per_class=300, seed=0):
    """Three interleaved noisy spirals in 2-D: not linearly separable."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for k in range(N_CLASSES):
        r = np.linspace(0.05, 1.0, n_per_class)
        t = np.linspace(k * 4.0, (k + 1) * 4.0, n_per_class) + rng.normal(0, 0.2, n_per_class)
        xs.append(np.stack([r * np.sin(t), r * np.cos(t)], axis=1))
        ys.append(np.full(n_per_class, k))
    x = np.concatenate(xs).astype(np.float32)
    y = np.concatenate(ys).astype(np.int32)
    return x, y


def build_model(tf, optimizer, learning_rate):
    """The graph: a 2-hidden-layer ReLU MLP with softmax cross-entropy loss."""
    x = tf.placeholder(tf.float32, [None, 2], name="x")
    y = tf.placeholder(tf.int32, [None], name="y")

    def dense(inputs, units, name, activation=None):
        with tf.variable_scope(name):
            w = tf.get_variable(
                "kernel",
                [inputs.shape[1], units],
                initializer=tf.glorot_uniform_initializer(),
            )
            b = tf.get_variable("bias", [units], initializer=tf.zeros_initializer())
            out = tf.matmul(inputs, w) + b
            return activation(out) if activation else out

    with tf.variable_scope("mlp"):
        h = dense(x, N_HIDDEN, "hidden1", tf.nn.relu)
        h = dense(h, N_HIDDEN, "hidden2", tf.nn.relu)
        logits = dense(h, N_CLASSES, "logits")
    loss = tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits), name="loss"
    )
    correct = tf.equal(tf.cast(tf.argmax(logits, 1), tf.int32), y)
    accuracy = tf.reduce_mean(tf.cast(correct, tf.float32), name="accuracy")
    global_step = tf.train.get_or_create_global_step()
    if optimizer == "adam":
        opt = tf.train.AdamOptimizer(learning_rate)
    else:
        opt = tf.train.GradientDescentOptimizer(learning_rate)
    train_op = opt.minimize(loss, global_step=global_step)
    return x, y, loss, accuracy, train_op


def train(tf, label, args, data, ckpt_dir=None):
    """Train on ``data`` with the ``tf`` module; returns (accuracy, seconds per step)."""
    x_all, y_all = data
    lr = args.lr if args.lr is not None else (0.01 if args.optimizer == "adam" else 0.5)
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(args.seed)
        x, y, loss, accuracy, train_op = build_model(tf, args.optimizer, lr)
        saver = tf.train.Saver(max_to_keep=2) if ckpt_dir else None
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            t_start = time.perf_counter()
            step_fn = sess.make_callable([loss, train_op], [x, y])
            rng = np.random.default_rng(args.seed)
            n = len(x_all)
            durations = []
            for step in range(1, args.steps + 1):
                idx = rng.integers(0, n, args.batch)
                xb, yb = x_all[idx], y_all[idx]
                t = time.perf_counter()
                loss_val, _ = step_fn(xb, yb)
                durations.append(time.perf_counter() - t)
                if step == 1 and label == "graphjit":
                    # graphjit compiles the step on a background thread while its interpreter
                    # answers (or, when an earlier run left a native module in the cache,
                    # runs that at once): within tenths of a second a chain compiled by
                    # llvmlite answers, then numba's replaces it; wait for numba's so the
                    # per-step time below is the steady state
                    import graphjit

                    how = (
                        "compiled, from the native module an earlier run built"
                        if graphjit.cache_stats()["native"]["hits"]
                        else "interpreted while the chain compiles"
                    )
                    print(f"  [{label}] first step {durations[0] * 1e3:.0f} ms ({how})")
                    graphjit.wait_for_compiles(provisional=True)
                    ready = time.perf_counter() - t_start
                    print(f"  [{label}] compiled step ready {ready:.2f} s after make_callable")
                    graphjit.wait_for_compiles()
                    ready = time.perf_counter() - t_start
                    print(f"  [{label}] numba's chain ready {ready:.2f} s after make_callable")
                if step % args.log_every == 0 or step == args.steps:
                    print(f"  [{label}] step {step:5d}  loss {loss_val:.4f}")
            total = time.perf_counter() - t_start
            # the median ignores the first calls, where compilation (if any) happens
            per_step = float(np.median(durations))
            acc = float(sess.run(accuracy, {x: x_all, y: y_all}))
            print(f"  [{label}] final accuracy {acc:.3f} on {n} points")
            if saver is not None:
                path = saver.save(sess, os.path.join(ckpt_dir, "mlp"), global_step=args.steps)
                print(f"  [{label}] checkpoint saved: {path}")
        if saver is not None:
            with tf.Session() as sess:  # a fresh session restored from disk
                saver.restore(sess, tf.train.latest_checkpoint(ckpt_dir))
                restored = float(sess.run(accuracy, {x: x_all, y: y_all}))
                print(f"  [{label}] restored in a new session: accuracy {restored:.3f}")
    print(
        f"  [{label}] time per step {per_step * 1e6:.0f} us (median); whole loop incl. "
        f"make_callable and compilation: {total:.2f} s"
    )
    return acc, per_step


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--optimizer", choices=["sgd", "adam"], default="adam")
    p.add_argument("--lr", type=float, default=None, help="default: 0.01 adam, 0.5 sgd")
    p.add_argument("--quick", action="store_true", help="150 steps, for a smoke test")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--log-every", type=int, default=None)
    p.add_argument("--checkpoint-dir", default=None, help="default: a temporary directory")
    p.add_argument("--no-tf", action="store_true", help="skip the TensorFlow comparison")
    p.add_argument("--no-interp", action="store_true", help="skip the interpreter comparison")
    args = p.parse_args(argv)
    if args.quick:
        args.steps = min(args.steps, 150)
    if args.log_every is None:
        args.log_every = max(1, args.steps // 6)
    return args


def main(argv=None):
    args = parse_args(argv)
    data = make_spiral(seed=0)
    print(
        f"MLP 2-{N_HIDDEN}-{N_HIDDEN}-{N_CLASSES} on a {N_CLASSES}-class spiral "
        f"({len(data[0])} points), {args.optimizer}, {args.steps} steps of batch {args.batch}"
    )
    tmp = None
    ckpt_dir = args.checkpoint_dir
    if ckpt_dir is None:
        ckpt_dir = tmp = tempfile.mkdtemp(prefix="graphjit_mlp_")
    else:
        os.makedirs(ckpt_dir, exist_ok=True)
    try:
        import graphjit.compat.v1 as gj

        print("graphjit:")
        acc, gj_step = train(gj, "graphjit", args, data, ckpt_dir)
        if not args.no_interp:
            # The same loop on graphjit's reference interpreter (no compilation): the
            # speedup below is what fusing the step into Numba kernels buys.
            from graphjit import config

            print("graphjit, interpreter only (GRAPHJIT_DISABLE_JIT=1), 100 steps:")
            short = argparse.Namespace(**{**vars(args), "steps": 100, "log_every": 100})
            with config.override(disable_jit=True):
                _, interp_step = train(gj, "interpreter", short, data)
            print(
                f"speedup of compiled steps over the interpreter: {interp_step / gj_step:.2f}x "
                f"({interp_step * 1e6:.0f} us -> {gj_step * 1e6:.0f} us per step)"
            )
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    if not args.no_tf:
        try:
            os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
            import tensorflow.compat.v1 as tf1
        except ImportError:
            print("TensorFlow is not installed: no side-by-side comparison.")
        else:
            tf1.disable_eager_execution()
            tf1.logging.set_verbosity(tf1.logging.ERROR)
            print("tensorflow.compat.v1:")
            _, tf_step = train(tf1, "tensorflow", args, data)
            print(
                f"time per step: graphjit {gj_step * 1e6:.0f} us, tensorflow "
                f"{tf_step * 1e6:.0f} us (TensorFlow / graphjit = {tf_step / gj_step:.2f})"
            )
    return 0 if acc > 0.5 else 1


if __name__ == "__main__":
    sys.exit(main())
