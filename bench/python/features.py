"""The feature logic of recoup-features, written as a data scientist would in Python polars.

Same definitions as crates/recoup-features/src/snapshot.rs (one as-of date, default windows
30/90/180/365, label horizon 30 days, rate prior strength 5), so the benchmark can compare the
outputs value by value as well as the time.

usage: python features.py --raw DIR --asof YYYY-MM-DD --out FILE
"""

import argparse
import datetime as dt
import time
import tomllib

import polars as pl

WINDOWS = [30, 90, 180, 365]
HORIZON = 30
K = 5.0
DAY_US = 86_400_000_000
CHANNELS = ["sms", "email", "call", "letter", "push"]
PRODUCTS = ["card", "personal_loan", "auto_loan", "utility", "telecom", "bnpl"]
RESPONSES = ["opened", "clicked", "right_party_contact", "promise_to_pay"]


def us(col):
    return pl.col(col).dt.epoch("us")


def days(col):
    return pl.col(col).dt.epoch("d").cast(pl.Int64)


def features(raw, asof):
    export_at = tomllib.load(open(f"{raw}/export.toml", "rb"))["export_at"]
    if isinstance(export_at, str):
        export_at = dt.datetime.fromisoformat(export_at.replace("Z", "+00:00"))
    export_us = int(export_at.timestamp() * 1_000_000)
    a_day = (asof - dt.date(1970, 1, 1)).days
    a_us = a_day * DAY_US
    mx = max(WINDOWS)
    lo_us, lo_day = a_us - mx * DAY_US, a_day - mx

    acc = pl.scan_parquet(f"{raw}/accounts.parquet").with_columns(opened_day=days("opened_on"))
    st = pl.scan_parquet(f"{raw}/account_states.parquet").with_columns(as_of_day=days("as_of"))
    pay = pl.scan_parquet(f"{raw}/payments.parquet").with_columns(paid_us=us("paid_at"))
    con = pl.scan_parquet(f"{raw}/contacts.parquet").with_columns(at_us=us("contacted_at"))
    pro = pl.scan_parquet(f"{raw}/promises.parquet").with_columns(made_us=us("made_at"), due_day=days("due_on"))

    base = acc.filter(pl.col("opened_day") <= a_day).with_columns(
        tenure_days=pl.lit(a_day) - pl.col("opened_day"),
        **{f"product_{p}": pl.col("product") == p for p in PRODUCTS},
    )
    opt = (
        con.filter((pl.col("outcome") == "opt_out") & (pl.col("at_us") >= a_us))
        .group_by("account_id")
        .agg(**{f"opt_out_after_{c}": (pl.col("channel") == c).cast(pl.Int64).sum() > 0 for c in CHANNELS})
    )
    latest = (
        st.filter(pl.col("as_of_day") <= a_day)
        .group_by("account_id")
        .agg(
            *[pl.col(c).sort_by("as_of_day").last() for c in ["balance", "amount_due", "days_past_due", "status"]],
            state_day=pl.col("as_of_day").max(),
        )
    )
    win = (
        st.filter((pl.col("as_of_day") <= a_day) & (pl.col("as_of_day") >= lo_day))
        .sort("account_id", "as_of_day")
        .with_columns(prev_dpd=pl.col("days_past_due").shift(1).over("account_id"))
        .group_by("account_id")
        .agg(
            **{
                f"max_dpd_{mx}d": pl.col("days_past_due").max(),
                f"cures_{mx}d": ((pl.col("prev_dpd") >= 30) & (pl.col("days_past_due") == 0)).cast(pl.Int64).sum(),
            }
        )
    )
    nr = ~pl.col("reversed")
    pay_aggs = {}
    for w in WINDOWS:
        inw = (pl.col("paid_us") >= a_us - w * DAY_US) & nr
        pay_aggs[f"payments_{w}d"] = inw.cast(pl.Int64).sum()
        pay_aggs[f"paid_amount_{w}d"] = pl.when(inw).then(pl.col("amount")).otherwise(0.0).sum()
    pays = (
        pay.filter((pl.col("paid_us") < a_us) & (pl.col("paid_us") >= lo_us))
        .sort("account_id", "paid_us")
        .group_by("account_id")
        .agg(
            **pay_aggs,
            **{f"reversed_payments_{mx}d": pl.col("reversed").cast(pl.Int64).sum()},
            last_pay_us=pl.col("paid_us").filter(nr).max(),
            last_payment_amount=pl.col("amount").filter(nr).last(),
            n_paid=nr.cast(pl.Int64).sum(),
        )
    )
    # Days between consecutive non-reversed payments of an account. A shifted comparison on the
    # sorted frame is faster in polars than diff() inside the group-by or over().
    same = pl.col("account_id") == pl.col("account_id").shift(1)
    gap = (pl.col("paid_us") - pl.col("paid_us").shift(1)).cast(pl.Float64) / DAY_US
    intervals = (
        pay.filter((pl.col("paid_us") < a_us) & (pl.col("paid_us") >= lo_us) & nr)
        .sort("account_id", "paid_us")
        .with_columns(gap=pl.when(same).then(gap))
        .group_by("account_id")
        .agg(payment_interval_mean_days=pl.col("gap").mean(), interval_std=pl.col("gap").std(ddof=1))
    )
    due_before = pl.col("due_day") < a_day
    proms = (
        pro.filter((pl.col("made_us") < a_us) & (pl.col("made_us") >= lo_us))
        .group_by("account_id")
        .agg(
            **{
                f"promises_made_{mx}d": pl.len().cast(pl.Int64),
                f"promises_kept_{mx}d": (due_before & (pl.col("kept") == True)).cast(pl.Int64).sum(),  # noqa: E712
                f"promises_broken_{mx}d": (due_before & (pl.col("kept") == False)).cast(pl.Int64).sum(),  # noqa: E712
            },
            promise_open=(pl.col("due_day") >= a_day).cast(pl.Int64).sum() > 0,
        )
    )
    past = con.filter((pl.col("at_us") < a_us) & (pl.col("at_us") >= lo_us) & (pl.col("channel") != "none")).with_columns(
        response=pl.col("outcome").is_in(RESPONSES),
        rpc=pl.col("outcome").is_in(["right_party_contact", "promise_to_pay"]),
    )
    prior_df = past.group_by("channel").agg(r=pl.col("response").cast(pl.Int64).sum(), n=pl.len()).collect()
    prior = {row["channel"]: (row["r"] + 0.5) / (row["n"] + 1.0) for row in prior_df.iter_rows(named=True)}
    c_aggs = {}
    for c in CHANNELS:
        on = pl.col("channel") == c
        for w in WINDOWS:
            inw = on & (pl.col("at_us") >= a_us - w * DAY_US)
            c_aggs[f"attempts_{c}_{w}d"] = inw.cast(pl.Int64).sum()
            c_aggs[f"responses_{c}_{w}d"] = (inw & pl.col("response")).cast(pl.Int64).sum()
        c_aggs[f"n_{c}"] = on.cast(pl.Int64).sum()
        c_aggs[f"r_{c}"] = (on & pl.col("response")).cast(pl.Int64).sum()
        c_aggs[f"last_{c}_us"] = pl.col("at_us").filter(on).max()
    contacts = past.group_by("account_id").agg(**c_aggs, last_rpc_us=pl.col("at_us").filter(pl.col("rpc")).max())
    # The usual response hour, in each customer's own time zone (one conversion per zone).
    resp = (
        past.filter(pl.col("response"))
        .select("account_id", "at_us")
        .join(acc.select("account_id", "time_zone"), on="account_id")
        .collect()
    )
    zones = sorted(acc.select(pl.col("time_zone").unique()).collect()["time_zone"].to_list())
    local = pl.col("at_us").cast(pl.Datetime("us", "UTC"))
    hours = pl.concat(
        [
            resp.lazy()
            .filter(pl.col("time_zone") == z)
            .select("account_id", hour=local.dt.convert_time_zone(z).dt.hour().cast(pl.Int64))
            for z in zones
        ]
    )
    usual = (
        hours.group_by("account_id", "hour")
        .agg(n=pl.len())
        .group_by("account_id")
        .agg(usual_response_hour=pl.col("hour").sort_by(["n", "hour"], descending=[True, False]).first())
    )

    f = (
        base.join(opt, on="account_id", how="left")
        .join(latest, on="account_id", how="left")
        .join(win, on="account_id", how="left")
        .join(pays, on="account_id", how="left")
        .join(intervals, on="account_id", how="left")
        .join(proms, on="account_id", how="left")
        .join(contacts, on="account_id", how="left")
        .join(usual, on="account_id", how="left")
    )
    kept = pl.col(f"promises_kept_{mx}d").fill_null(0)
    broken = pl.col(f"promises_broken_{mx}d").fill_null(0)
    derived = dict(
        as_of=pl.lit(asof),
        dpd_bucket=pl.when(pl.col("days_past_due") <= 0)
        .then(0)
        .when(pl.col("days_past_due") >= 180)
        .then(7)
        .otherwise((pl.col("days_past_due") + 30) // 30),
        charged_off=pl.col("status") == "charged_off",
        utilisation=pl.when(pl.col("credit_limit") > 0).then(pl.col("balance") / pl.col("credit_limit")),
        state_age_days=pl.lit(a_day) - pl.col("state_day"),
        payment_interval_cv=pl.when((pl.col("n_paid") >= 3) & (pl.col("payment_interval_mean_days") > 0)).then(
            pl.col("interval_std") / pl.col("payment_interval_mean_days")
        ),
        **{
            f"paid_to_due_{min(WINDOWS)}d": pl.when(pl.col("amount_due") > 0).then(
                pl.col(f"paid_amount_{min(WINDOWS)}d").fill_null(0.0) / pl.col("amount_due")
            )
        },
        days_since_last_payment=(pl.lit(a_us) - pl.col("last_pay_us")).cast(pl.Float64) / DAY_US,
        promise_kept_rate=(kept + 1).cast(pl.Float64) / (kept + broken + 2).cast(pl.Float64),
        days_since_last_rpc=(pl.lit(a_us) - pl.col("last_rpc_us")).cast(pl.Float64) / DAY_US,
    )
    for c in CHANNELS:
        p = prior.get(c, 0.5)
        derived[f"consent_{c}"] = pl.col(f"consent_{c}") | pl.col(f"opt_out_after_{c}").fill_null(False)
        derived[f"response_rate_{c}"] = (pl.col(f"r_{c}").fill_null(0).cast(pl.Float64) + K * p) / (
            pl.col(f"n_{c}").fill_null(0).cast(pl.Float64) + K
        )
        derived[f"hours_since_last_{c}"] = (pl.lit(a_us) - pl.col(f"last_{c}_us")).cast(pl.Float64) / 3_600_000_000.0
    f = f.with_columns(**derived)

    h = HORIZON
    labelled = a_us + h * DAY_US <= export_us
    if labelled:
        fut = (
            pay.filter((pl.col("paid_us") >= a_us) & (pl.col("paid_us") < a_us + h * DAY_US) & nr)
            .group_by("account_id")
            .agg(future_amount=pl.col("amount").sum())
        )
        nxt = (
            st.filter((pl.col("as_of_day") > a_day) & (pl.col("as_of_day") <= a_day + h + 1))
            .group_by("account_id")
            .agg(
                next_dpd=pl.col("days_past_due").sort_by("as_of_day").last(),
                next_status=pl.col("status").sort_by("as_of_day").last(),
            )
        )
        amt = pl.col("future_amount").fill_null(0.0)
        f = (
            f.join(fut, on="account_id", how="left")
            .join(nxt, on="account_id", how="left")
            .with_columns(
                **{
                    f"amount_paid_{h}d": amt,
                    f"paid_any_{h}d": amt > 0,
                    f"paid_{h}d": amt >= pl.col("amount_due"),
                    f"cured_{h}d": pl.when((pl.col("days_past_due") > 0) & pl.col("next_dpd").is_not_null()).then(
                        (pl.col("next_dpd") == 0) | pl.col("next_status").is_in(["closed", "settled"])
                    ),
                }
            )
        )
    return f, labelled


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", required=True)
    ap.add_argument("--asof", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--columns", required=True, help="comma-separated output columns in order")
    args = ap.parse_args()
    t0 = time.perf_counter()
    lf, _ = features(args.raw, dt.date.fromisoformat(args.asof))
    cols = args.columns.split(",")
    counts = ("payments_", "paid_amount_", "reversed_", "promises_", "attempts_", "responses_")
    lf = lf.with_columns(
        *[pl.col(c).fill_null(0) for c in cols if c.startswith(counts)], pl.col("promise_open").fill_null(False)
    )
    df = lf.select(cols).collect()
    df.write_parquet(args.out)
    print(f"{time.perf_counter() - t0:.3f}")


if __name__ == "__main__":
    main()
