"""LightGBM side of recoup's scoring benchmark (crates/recoup-score/benches/evaluate.rs).

export:  converts the text model to ONNX with onnxmltools (no ZipMap) and saves it (--onnx).
onnx:    predicts with ONNX Runtime, like predict, on an ONNX file (--onnx: the onnxmltools export,
         float32 input as that converter declares, or recoup's export, float64 input) or, without
         --onnx, on the onnxmltools conversion done in memory.
train:   fits LightGBM (300 trees, 31 leaves, learning rate 0.05) on Give Me Some Credit and
         saves its text model.
predict: loads the text model and a row-major float64 matrix, predicts probabilities with the
         given thread count (best of three, seconds printed as JSON) and saves them as float64.
"""

import argparse
import json
import resource
import time

import lightgbm as lgb
import numpy as np
import polars as pl


def peak_mib():
    """Peak resident memory of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["train", "predict", "export", "onnx"])
    ap.add_argument("--csv")
    ap.add_argument("--model", required=True)
    ap.add_argument("--matrix")
    ap.add_argument("--features", type=int)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out")
    ap.add_argument("--onnx", help="the ONNX file (export: written; onnx: read)")
    args = ap.parse_args()
    if args.mode == "train":
        df = pl.read_csv(args.csv, null_values=["NA"], infer_schema_length=None)
        y = df["SeriousDlqin2yrs"].to_numpy()
        x = df.drop(df.columns[0], "SeriousDlqin2yrs").cast(pl.Float64).to_numpy()
        params = {"objective": "binary", "num_leaves": 31, "learning_rate": 0.05, "verbose": -1,
                  "num_threads": 2, "seed": 42, "deterministic": True}
        model = lgb.train(params, lgb.Dataset(x, label=y), num_boost_round=300)
        model.save_model(args.model)
        print(json.dumps({"trees": model.num_trees()}))
        return
    model = lgb.Booster(model_file=args.model)
    if args.mode in ("export", "onnx"):
        import onnxmltools
        import onnxruntime as ort
        from onnxmltools.convert.common.data_types import FloatTensorType

        if args.mode == "onnx" and args.onnx:
            with open(args.onnx, "rb") as f:
                onx = f.read()
        else:
            features = model.num_feature()
            onx = onnxmltools.convert_lightgbm(
                model, initial_types=[("input", FloatTensorType([None, features]))], zipmap=False
            ).SerializeToString()
        if args.mode == "export":
            with open(args.onnx, "wb") as f:
                f.write(onx)
            print(json.dumps({"onnx": args.onnx, "onnxmltools": onnxmltools.__version__}))
            return
    x = np.fromfile(args.matrix, dtype="<f8").reshape(-1, args.features)
    if args.mode == "onnx":
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = args.threads
        opts.inter_op_num_threads = 1
        sess = ort.InferenceSession(onx, opts, providers=["CPUExecutionProvider"])
        (inp,) = sess.get_inputs()
        # onnxmltools declares float32 inputs; recoup's exports take float64 as they are.
        xin = x if inp.type == "tensor(double)" else x.astype(np.float32)
        names = [o.name for o in sess.get_outputs()]
        prob_name = "probabilities" if "probabilities" in names else names[1]
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            p = sess.run([prob_name], {inp.name: xin})[0][:, 1]
            best = min(best, time.perf_counter() - t0)
        p.astype("<f8").tofile(args.out)
        print(json.dumps({"secs": best, "rows": x.shape[0], "onnxruntime": ort.__version__,
                          "peak_mib": peak_mib()}))
        return
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        p = model.predict(x, num_threads=args.threads)
        best = min(best, time.perf_counter() - t0)
    p.astype("<f8").tofile(args.out)
    print(json.dumps({"secs": best, "rows": x.shape[0], "peak_mib": peak_mib()}))


if __name__ == "__main__":
    main()
