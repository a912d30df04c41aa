"""Fixtures of recoup's ONNX parity tests (crates/recoup-score/tests/onnx_parity.rs).

python onnx_fixtures.py OUT_DIR

Trains small seeded binary classifiers in Python, exports them to ONNX and writes, into OUT_DIR:

- `<name>.onnx` for every model, with the feature names in the metadata prop `feature_names`
  (a JSON list);
- `rows-missing.f64` (with NaNs, and all-missing rows first) and `rows-complete.f64` (no NaN):
  the test rows, little-endian float64, row-major;
- `<name>.library.f64`: the training library's own predict_proba[:, 1] on the model's rows (float64);
- `<name>.onnxruntime.f64`: ONNX Runtime (Python) probabilities of the positive class for the same
  rows (float32 input, as the converters declare; one intra-op thread);
- `lightgbm.txt`: the LightGBM text model the LightGBM exports were converted from;
- `identity.onnx`: a graph without class probabilities (float [N, 3] in, the same out), which
  recoup must refuse;
- `manifest.json`: the rows' shapes, every model's files, input name, probability output, and the
  package versions.

Feature values lie on a grid of 1/8 so that they and the trees' split thresholds (midpoints
between values) are exact in float32: the ONNX side then takes the same branches as the
float64 libraries, and the comparisons measure the scorers, not float32 rounding of the data.

Models: LightGBM through onnxmltools (default ZipMap, and zipmap=False); scikit-learn
HistGradientBoostingClassifier (learns missing values; skl2onnx, default ZipMap and
zipmap=False) and RandomForestClassifier (no missing values; default ZipMap); and
LogisticRegression with string class labels (LinearClassifier; default ZipMap, string keys).
"""

import json
import sys
from importlib.metadata import version
from pathlib import Path

import lightgbm as lgb
import numpy as np
import onnx
import onnxmltools
import onnxruntime as ort
from onnxmltools.convert.common.data_types import FloatTensorType as MlFloatTensorType
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression

N_FEATURES = 6
FEATURES = [f"x{i}" for i in range(N_FEATURES)]
N_TRAIN = 4000
N_TEST = 10_000
N_ALL_MISSING = 7


def grid(rng, shape, scale):
    return np.round(rng.normal(0.0, scale, shape) * 8.0) / 8.0


def target(rng, x):
    v = np.nan_to_num(x, nan=0.0)
    z = v[:, 0] - 0.5 * v[:, 1] + np.where(np.isnan(x[:, 2]), 1.0, 0.3 * v[:, 2] * v[:, 3]) + 0.2 * v[:, 5]
    return (rng.random(len(x)) < 1.0 / (1.0 + np.exp(-z))).astype(np.int64)


def with_missing(rng, x, rate, columns):
    x = x.copy()
    for c in columns:
        x[rng.random(len(x)) < rate, c] = np.nan
    return x


def onnx_probabilities(path, rows):
    # One intra-op thread, as recoup runs each session: the same sums in the same order.
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    (inp,) = sess.get_inputs()
    prob = next(o for o in sess.get_outputs() if "prob" in o.name)
    out = sess.run([prob.name], {inp.name: rows.astype(np.float32)})[0]
    if isinstance(out, list):
        # ZipMap: one dict per row; the positive class is the larger label, as classes_[1].
        return np.array([d[max(d)] for d in out], dtype=np.float64), inp.name, prob.name, str(prob.type)
    return out[:, -1].astype(np.float64), inp.name, prob.name, str(prob.type)


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20260601)

    x_train = grid(rng, (N_TRAIN, N_FEATURES), 3.0)
    # x5 has no missing value in training: LightGBM then treats a missing x5 as zero.
    x_train_missing = with_missing(rng, x_train, 0.1, range(N_FEATURES - 1))
    y_missing = target(rng, x_train_missing)
    y_complete = target(rng, x_train)

    rows_missing = with_missing(rng, grid(rng, (N_TEST, N_FEATURES), 3.5), 0.1, range(N_FEATURES))
    rows_missing[:N_ALL_MISSING] = np.nan
    rows_complete = grid(rng, (N_TEST, N_FEATURES), 3.5)
    rows = {"missing": rows_missing, "complete": rows_complete}
    for name, r in rows.items():
        r.astype("<f8").tofile(out / f"rows-{name}.f64")

    models = []

    def save(name, onx, rows_name, library_proba, library):
        onnx.helper.set_model_props(onx, {"feature_names": json.dumps(FEATURES)})
        path = out / f"{name}.onnx"
        onnx.save_model(onx, str(path))
        r = rows[rows_name]
        ort_proba, input_name, output_name, output_type = onnx_probabilities(path, r)
        np.asarray(library_proba, dtype="<f8").tofile(out / f"{name}.library.f64")
        ort_proba.astype("<f8").tofile(out / f"{name}.onnxruntime.f64")
        models.append({
            "name": name,
            "library": library,
            "onnx": path.name,
            "rows": rows_name,
            "input": input_name,
            "probability_output": output_name,
            "probability_type": output_type,
            "library_proba": f"{name}.library.f64",
            "onnxruntime_proba": f"{name}.onnxruntime.f64",
        })

    booster = lgb.train(
        {"objective": "binary", "num_leaves": 15, "learning_rate": 0.1, "min_data_in_leaf": 10,
         "verbose": -1, "seed": 1, "deterministic": True, "num_threads": 1},
        lgb.Dataset(x_train_missing, label=y_missing),
        num_boost_round=80,
    )
    booster.save_model(str(out / "lightgbm.txt"))
    lgb_proba = booster.predict(rows_missing)
    for zipmap in (False, True):
        onx = onnxmltools.convert_lightgbm(
            booster, initial_types=[("input", MlFloatTensorType([None, N_FEATURES]))], zipmap=zipmap
        )
        save(f"lightgbm-{'zipmap' if zipmap else 'tensor'}", onx, "missing", lgb_proba, "lightgbm")

    def sklearn_export(name, model, rows_name, zipmap):
        onx = convert_sklearn(
            model,
            initial_types=[("features", FloatTensorType([None, N_FEATURES]))],
            options={id(model): {"zipmap": zipmap}},
        )
        save(name, onx, rows_name, model.predict_proba(rows[rows_name])[:, 1], "scikit-learn")

    hgb = HistGradientBoostingClassifier(max_iter=60, max_leaf_nodes=15, random_state=0)
    hgb.fit(x_train_missing, y_missing)
    sklearn_export("sklearn-hgb-zipmap", hgb, "missing", True)
    sklearn_export("sklearn-hgb-tensor", hgb, "missing", False)

    forest = RandomForestClassifier(n_estimators=40, max_depth=8, random_state=0)
    forest.fit(x_train, y_complete)
    sklearn_export("sklearn-forest-zipmap", forest, "complete", True)

    logistic = LogisticRegression(max_iter=1000)
    logistic.fit(x_train, np.where(y_complete == 1, "pays", "defaults"))
    assert list(logistic.classes_) == ["defaults", "pays"]
    sklearn_export("sklearn-logistic-zipmap", logistic, "complete", True)

    identity = onnx.helper.make_model(
        onnx.helper.make_graph(
            [onnx.helper.make_node("Identity", ["x"], ["y"])],
            "identity",
            [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [None, 3])],
            [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [None, 3])],
        ),
        opset_imports=[onnx.helper.make_opsetid("", 17)],
    )
    onnx.checker.check_model(identity)
    onnx.save_model(identity, str(out / "identity.onnx"))

    manifest = {
        "n_features": N_FEATURES,
        "feature_names": FEATURES,
        "rows": {name: {"file": f"rows-{name}.f64", "n_rows": len(r)} for name, r in rows.items()},
        "all_missing_rows": N_ALL_MISSING,
        "lightgbm_text": "lightgbm.txt",
        "no_probabilities": "identity.onnx",
        "models": models,
        "versions": {p: version(p) for p in
                     ["lightgbm", "scikit-learn", "onnxruntime", "onnxmltools", "skl2onnx", "onnx", "numpy"]},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    print(json.dumps({"models": [m["name"] for m in models]}))


if __name__ == "__main__":
    main()
