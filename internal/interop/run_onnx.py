"""Runs an ONNX model in onnxruntime, for the export interop tests.

Usage: python run_onnx.py MODEL.onnx INPUT.raw DTYPE D0,D1,... OUTPUT.raw

It checks the model with onnx.checker (full_check: strict shape inference), runs it in
onnxruntime on the CPU, with the default session options, on the input (a raw
little-endian array of DTYPE float32 or int64 and the given shape), writes the first
output as raw little-endian float32 to OUTPUT.raw, and prints one JSON line: the opset,
the IR version, the producer, the graph's input and output names, element types and
shapes as the model declares them (as strings: "batch", "784"), and the shape of
the output it computed.
"""
import json
import sys

import numpy as np
import onnx
import onnx.checker
import onnxruntime as ort


def dims(vi):
    out = []
    for d in vi.type.tensor_type.shape.dim:
        out.append(d.dim_param if d.HasField("dim_param") else str(d.dim_value))
    return out


def main(model_path, input_path, dtype, shape, output_path):
    model = onnx.load(model_path)
    onnx.checker.check_model(model, full_check=True)
    shape = [int(d) for d in shape.split(",")]
    x = np.fromfile(input_path, dtype={"float32": "<f4", "int64": "<i8"}[dtype]).reshape(shape)
    sess = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    (inp,) = sess.get_inputs()
    y = sess.run(None, {inp.name: x})[0]
    np.ascontiguousarray(y, dtype="<f4").tofile(output_path)
    g = model.graph
    print(json.dumps({
        "opset": [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")][0],
        "ir_version": model.ir_version,
        "producer": model.producer_name + " " + model.producer_version,
        "inputs": [{"name": v.name, "elem_type": v.type.tensor_type.elem_type, "dims": dims(v)} for v in g.input],
        "outputs": [{"name": v.name, "elem_type": v.type.tensor_type.elem_type, "dims": dims(v)} for v in g.output],
        "initializers": [i.name for i in g.initializer],
        "ops": sorted({n.op_type for n in g.node}),
        "shape": list(y.shape),
    }))


if __name__ == "__main__":
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    main(*sys.argv[1:])
