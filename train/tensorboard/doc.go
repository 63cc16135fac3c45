// Package tensorboard writes TensorBoard event files without TensorFlow: TFRecord
// framing (a little-endian length, the masked CRC-32C of the length, the data, the
// masked CRC-32C of the data) around Event protocol buffers encoded with protowire:
// scalars (Summary.Value.simple_value), histograms (HistogramProto over TensorFlow's
// default buckets) and markdown texts (the text plugin's DT_STRING tensors).
//
// Writer is one event file; Callback is a train.Callback that logs a Fit in the layout
// of Keras' TensorBoard callback (DIR/train, DIR/validation; epoch_loss, batch_loss,
// ...), so that `tensorboard --logdir DIR` shows it. ReadFile reads a file back,
// checking every checksum.
package tensorboard
