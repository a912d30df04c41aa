"""LightGBM side of recoup's GBDT benchmark (crates/recoup-train/benches/gbdt.rs).

Reads the train/test CSVs that the benchmark wrote (same rows, same encoded features), trains
LightGBM with the given settings and thread count, and prints one JSON line: training seconds
(dataset construction included, as recoup's binning is) and the test probabilities' file.
"""

import argparse
import json
import time

import lightgbm as lgb
import numpy as np
import polars as pl


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--params", required=True, help="JSON object of LightGBM parameters")
    ap.add_argument("--out", required=True, help="file for the test probabilities, one per line")
    args = ap.parse_args()
    meta = json.load(open(f"{args.dir}/meta.json"))
    train = pl.read_csv(f"{args.dir}/train.csv", infer_schema_length=None)
    test = pl.read_csv(f"{args.dir}/test.csv", infer_schema_length=None)
    features = meta["features"]
    x_train = train.select(features).cast(pl.Float64).to_numpy()
    y_train = train["target"].to_numpy()
    x_test = test.select(features).cast(pl.Float64).to_numpy()
    params = {
        "objective": "binary",
        "num_threads": args.threads,
        "verbose": -1,
        "deterministic": True,
        **json.loads(args.params),
    }
    rounds = params.pop("num_iterations")
    t0 = time.perf_counter()
    ds = lgb.Dataset(x_train, label=y_train, categorical_feature=meta["categorical"], free_raw_data=False)
    model = lgb.train(params, ds, num_boost_round=rounds)
    secs = time.perf_counter() - t0
    p = model.predict(x_test)
    np.savetxt(args.out, p, fmt="%.17g")
    print(json.dumps({"secs": secs, "trees": model.num_trees(), "lightgbm": lgb.__version__}))


if __name__ == "__main__":
    main()
