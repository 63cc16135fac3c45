"""keras_mlp trains the reference MNIST MLP with Keras 3 on TensorFlow (CPU), as the tutorial writes it.

The model is keras.Sequential([Input((28, 28)), Flatten, Dense(128, relu),
Dense(64, relu), Dense(10, softmax)]) with Keras's default Glorot-uniform kernels and
zero biases, compiled with Adam(1e-3, 0.9, 0.999, 1e-7), sparse categorical
cross-entropy and accuracy, and trained by
model.fit(x, y, validation_split=0.1, batch_size=32, epochs=N, shuffle=True), then
model.evaluate on the test images. An epoch's time runs from on_epoch_begin to
on_epoch_end, so it covers the shuffle, the training steps and the validation pass.

Usage: .venv/bin/python bench/keras_mlp.py --data data/mnist [--epochs 10]
       [--threads N] [--jit auto|true|false] [--eager] [--steps-per-execution K] [--json]
"""

import math
import os
import sys
import time

import common
import mnist


def main():
    p = common.parser(__doc__.splitlines()[0], ["cpu"])
    p.add_argument("--jit", default="auto", choices=["auto", "true", "false"],
                   help="compile(jit_compile=...) (default auto: Keras turns XLA off on a CPU-only machine)")
    p.add_argument("--eager", action="store_true",
                   help="compile(run_eagerly=True) (default False: one tf.function per step)")
    p.add_argument("--steps-per-execution", type=int, default=1,
                   help="compile(steps_per_execution=K): K steps per tf.function call (default 1)")
    args = p.parse_args()
    common.check_args(p, args)
    if args.steps_per_execution < 1:
        p.error(f"--steps-per-execution {args.steps_per_execution}: must be at least 1")
    thread_env = common.set_thread_env(args.threads)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    import tensorflow as tf  # after the thread environment is set
    import keras

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    tf.config.set_visible_devices([], "GPU")

    try:
        x_train, y_train, x_test, y_test = mnist.load(args.data)
    except mnist.MnistError as e:
        sys.exit(f"keras_mlp: {e}")

    keras.utils.set_random_seed(args.seed)
    model = keras.Sequential([
        keras.Input(shape=(28, 28)),
        keras.layers.Flatten(),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    jit = {"auto": "auto", "true": True, "false": False}[args.jit]
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=common.LEARNING_RATE, beta_1=common.BETA1,
                                        beta_2=common.BETA2, epsilon=common.EPSILON),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=jit,
        run_eagerly=args.eager,
        steps_per_execution=args.steps_per_execution,
    )

    class EpochTimer(keras.callbacks.Callback):
        """EpochTimer records each epoch's wall time and the part spent validating."""

        def __init__(self):
            super().__init__()
            self.epoch_seconds, self.val_seconds, self.cpu_seconds = [], [], []

        def on_epoch_begin(self, epoch, logs=None):
            self.t0, self.c0 = time.perf_counter(), time.process_time()

        def on_test_begin(self, logs=None):
            self.tv = time.perf_counter()

        def on_test_end(self, logs=None):
            self.val_seconds.append(time.perf_counter() - self.tv)

        def on_epoch_end(self, epoch, logs=None):
            seconds = time.perf_counter() - self.t0
            self.cpu_seconds.append(time.process_time() - self.c0)
            self.epoch_seconds.append(seconds)
            common.epoch_line(epoch + 1, args.epochs, logs["loss"], logs["accuracy"],
                              logs["val_loss"], logs["val_accuracy"], seconds)

    timer = EpochTimer()
    model.fit(x_train, y_train, validation_split=common.VALIDATION_SPLIT,
              batch_size=common.BATCH, epochs=args.epochs, shuffle=True,
              callbacks=[timer], verbose=0)
    test_loss, test_acc = model.evaluate(x_test, y_test, batch_size=common.BATCH, verbose=0)
    print(f"test loss {test_loss:.4f} acc {test_acc:.4f}", flush=True)
    if args.json:
        n_train = int(math.floor(len(x_train) * (1 - common.VALIDATION_SPLIT)))
        train_seconds = [e - v for e, v in zip(timer.epoch_seconds, timer.val_seconds)]
        common.print_result(common.add_label(common.result(
            "keras", f"keras {keras.__version__} / tensorflow {tf.__version__}", "cpu",
            args.threads, args.epochs, n_train, timer.epoch_seconds, test_loss, test_acc,
            train_seconds=[round(s, 4) for s in train_seconds],
            epoch_cpu_seconds=[round(s, 4) for s in timer.cpu_seconds],
            jit_compile=str(model.jit_compile), run_eagerly=args.eager,
            steps_per_execution=args.steps_per_execution, seed=args.seed, env=thread_env,
        ), args.label))


if __name__ == "__main__":
    main()
