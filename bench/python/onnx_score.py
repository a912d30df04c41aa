"""Scores ONNX files with Python's ONNX Runtime, for recoup's export parity tests.

Usage: onnx_score.py JOBS.json, where JOBS.json is a list of {"onnx": path, "rows": path,
"out": path}. `rows` holds little-endian float64 rows, row-major, as many columns as the
model's input has. Each model is first checked with onnx.checker (full_check, which also
infers shapes); then its `probabilities[:, 1]` and `label` are written to `out` as float64
pairs, row by row. Prints one JSON object per job: the opsets, the input and outputs with
their types, and the metadata props.
"""

import json
import sys

import numpy as np
import onnx
import onnxruntime as ort


def main() -> None:
    jobs = json.load(open(sys.argv[1]))
    for job in jobs:
        model = onnx.load(job["onnx"])
        onnx.checker.check_model(model, full_check=True)
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        session = ort.InferenceSession(
            job["onnx"], options, providers=["CPUExecutionProvider"]
        )
        (inp,) = session.get_inputs()
        n_features = inp.shape[1]
        rows = np.fromfile(job["rows"], dtype="<f8").reshape(-1, n_features)
        label, proba = session.run(["label", "probabilities"], {inp.name: rows})
        assert proba.dtype == np.float64, proba.dtype
        np.column_stack([proba[:, 1], label.astype(np.float64)]).astype("<f8").tofile(job["out"])
        print(
            json.dumps(
                {
                    "onnx": job["onnx"],
                    "rows": int(rows.shape[0]),
                    "onnxruntime": ort.__version__,
                    "opsets": {o.domain or "ai.onnx": o.version for o in model.opset_import},
                    "ir_version": model.ir_version,
                    "input": [inp.name, inp.type, inp.shape],
                    "outputs": [[o.name, o.type, o.shape] for o in session.get_outputs()],
                    "metadata": {p.key: p.value for p in model.metadata_props},
                    "rows_sum_to_one": bool(np.allclose(proba.sum(axis=1), 1.0)),
                }
            )
        )


if __name__ == "__main__":
    main()
