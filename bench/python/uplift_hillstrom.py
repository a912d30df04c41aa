"""Python peers of recoup's Hillstrom uplift benchmark (crates/recoup-uplift/benches/hillstrom.rs).

peers:   scikit-uplift's published protocol on Hillstrom, women's e-mail vs no e-mail on visit.
         It keeps those two segments and splits with train_test_split(test_size=0.5,
         random_state=42), then encodes the text columns with CatBoostEncoder (fit on the
         training half). It fits ClassTransformation(XGBClassifier(max_depth=2,
         random_state=42)) and reports uplift@30% (strategy "overall"). The published figure
         is 0.066. causalml's T- and X-learners run with the same XGBoost settings on the same
         encoded rows; the X-learner gets the known randomisation propensity. The script writes
         the split (row numbers of the CSV) for recoup, and prints every model's metrics and fit
         time as JSON. The three-arm split (all segments, the same call) is written too.
metrics: sklift's metrics of uplift predictions on the test half (to check recoup's own).
"""

import argparse
import json
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

warnings.filterwarnings("ignore")


def load(csv):
    df = pd.read_csv(csv)
    df["row"] = np.arange(len(df))
    return df


def two_arm(df):
    d = df[df["segment"] != "Mens E-Mail"].copy()
    d["treatment"] = d["segment"].map({"Womens E-Mail": 1, "No E-Mail": 0})
    d = d.drop(["segment", "conversion", "spend"], axis=1)
    return train_test_split(d, test_size=0.5, random_state=42)


def features(d):
    return d.drop(["visit", "treatment", "row"], axis=1)


def sklift_metrics(y, uplift, treatment):
    from sklift.metrics import qini_auc_score, uplift_at_k, uplift_auc_score

    return {
        "uplift_at_30_overall": float(uplift_at_k(y, uplift, treatment, strategy="overall", k=0.3)),
        "uplift_at_30_by_group": float(uplift_at_k(y, uplift, treatment, strategy="by_group", k=0.3)),
        "qini_coefficient": float(qini_auc_score(y, uplift, treatment)),
        "auuc": float(uplift_auc_score(y, uplift, treatment)),
    }


def peers(args):
    from importlib.metadata import version

    from category_encoders import CatBoostEncoder
    from causalml.inference.meta import BaseTClassifier, BaseXClassifier
    from sklift.models import ClassTransformation
    from xgboost import XGBClassifier, XGBRegressor

    df = load(args.csv)
    tr, va = two_arm(df)
    np.savetxt(f"{args.out_dir}/two-arm-train.txt", tr["row"].to_numpy(), fmt="%d")
    np.savetxt(f"{args.out_dir}/two-arm-test.txt", va["row"].to_numpy(), fmt="%d")
    tr3, va3 = train_test_split(df, test_size=0.5, random_state=42)
    np.savetxt(f"{args.out_dir}/three-arm-train.txt", tr3["row"].to_numpy(), fmt="%d")
    np.savetxt(f"{args.out_dir}/three-arm-test.txt", va3["row"].to_numpy(), fmt="%d")

    x_tr, y_tr, t_tr = features(tr), tr["visit"], tr["treatment"]
    x_va, y_va, t_va = features(va), va["visit"], va["treatment"]
    cats = x_tr.select_dtypes(include="object").columns.tolist()
    # sklift's notebook fits the encoder inside a Pipeline: fit_transform on the training half,
    # transform on the test half (scikit-learn 1.9 refuses that Pipeline around sklift models).
    encoder = CatBoostEncoder(cols=cats)
    e_tr = encoder.fit_transform(x_tr, y_tr)
    e_va = encoder.transform(x_va)
    xgb = lambda: XGBClassifier(max_depth=2, random_state=42)  # noqa: E731
    out = []

    t0 = time.perf_counter()
    ct = ClassTransformation(estimator=xgb())
    ct.fit(e_tr, y_tr, t_tr)
    secs = time.perf_counter() - t0
    u = ct.predict(e_va)
    out.append({"model": "scikit-uplift ClassTransformation + XGBoost", "fit_secs": secs,
                **sklift_metrics(y_va, u, t_va)})

    t0 = time.perf_counter()
    tl = BaseTClassifier(learner=xgb(), control_name=0)
    tl.fit(X=e_tr.to_numpy(), treatment=t_tr.to_numpy(), y=y_tr.to_numpy())
    secs = time.perf_counter() - t0
    u = tl.predict(X=e_va.to_numpy())[:, 0]
    out.append({"model": "causalml T-learner + XGBoost", "fit_secs": secs,
                **sklift_metrics(y_va, u, t_va)})

    share = float(t_tr.mean())
    t0 = time.perf_counter()
    xl = BaseXClassifier(outcome_learner=xgb(),
                         effect_learner=XGBRegressor(max_depth=2, random_state=42),
                         control_name=0)
    xl.fit(X=e_tr.to_numpy(), treatment=t_tr.to_numpy(), y=y_tr.to_numpy(),
           p=np.full(len(t_tr), share))
    secs = time.perf_counter() - t0
    u = xl.predict(X=e_va.to_numpy(), p=np.full(len(t_va), share))[:, 0]
    out.append({"model": "causalml X-learner + XGBoost", "fit_secs": secs,
                **sklift_metrics(y_va, u, t_va)})

    print(json.dumps({
        "versions": {p: version(p) for p in ["scikit-uplift", "causalml", "xgboost",
                                             "category_encoders", "scikit-learn"]},
        "train_rows": len(tr), "test_rows": len(va), "models": out,
    }))


def metrics(args):
    df = load(args.csv)
    _, va = two_arm(df)
    uplift = np.fromfile(args.predictions, dtype="<f8")
    assert len(uplift) == len(va), (len(uplift), len(va))
    print(json.dumps(sklift_metrics(va["visit"].to_numpy(), uplift, va["treatment"].to_numpy())))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["peers", "metrics"])
    ap.add_argument("--csv", required=True)
    ap.add_argument("--out-dir")
    ap.add_argument("--predictions", help="metrics: float64 uplift per test row, in split order")
    args = ap.parse_args()
    peers(args) if args.mode == "peers" else metrics(args)


if __name__ == "__main__":
    main()
