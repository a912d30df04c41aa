# Shortcuts; the README's two commands work without `just`.

# Simulate, validate and summarise a demo portfolio.
demo:
    cargo run --release -- demo

# The test command of the README.
test:
    scripts/test

# Formatting and lints, as CI runs them.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Benchmarks (release build).
bench:
    cargo bench -p recoup-sim --bench simulate
    scripts/bench-python-env
    cargo bench -p recoup-cli --bench features
    cargo bench -p recoup-train --bench gbdt
    cargo bench -p recoup-score --bench evaluate
