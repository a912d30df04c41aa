//! Portfolio-wide assignment under per-channel capacity (e.g. agents' call minutes, an SMS
//! budget): every account gets exactly one of its options, the total value is as high as the
//! capacities allow.
//!
//! Lagrangian prices: each capacitated channel gets a price per unit of use; every account
//! then simply takes the option with the best value minus priced use. A channel's price is the
//! lowest that keeps its use within capacity (found by bisection, channels in turn until the
//! prices settle); the capacity left over at those prices is then filled greedily by the
//! switches that add the most value per unit of use. Each account's choice at given prices is
//! independent of the others', so that step runs in parallel. Tests compare the result with
//! the exact optimum of small instances.

use rayon::prelude::*;

/// One option of one account.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    /// Net expected value of the option (can be negative).
    pub value: f64,
    /// The capacitated channel it uses, if any.
    pub channel: Option<usize>,
    /// Units of that channel's capacity it uses.
    pub usage: f64,
}

/// The chosen option of every account, the prices that chose them and what they use.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    pub choice: Vec<usize>,
    pub prices: Vec<f64>,
    pub used: Vec<f64>,
    pub total_value: f64,
}

fn best_at(options: &[Candidate], prices: &[f64]) -> usize {
    let mut best = 0;
    let mut best_v = f64::NEG_INFINITY;
    for (k, o) in options.iter().enumerate() {
        let v = o.value - o.channel.map_or(0.0, |c| prices[c] * o.usage);
        if v > best_v {
            best_v = v;
            best = k;
        }
    }
    best
}

fn use_at(
    accounts: &[Vec<Candidate>],
    prices: &[f64],
    n_channels: usize,
) -> (Vec<usize>, Vec<f64>) {
    let choice: Vec<usize> = accounts.par_iter().map(|o| best_at(o, prices)).collect();
    let mut used = vec![0.0; n_channels];
    for (o, &k) in accounts.iter().zip(&choice) {
        if let Some(c) = o[k].channel {
            used[c] += o[k].usage;
        }
    }
    (choice, used)
}

/// Assigns one option per account. Every account must have at least one option that uses no
/// capacity (e.g. "no contact"), so a feasible assignment always exists.
///
/// # Panics
/// When an account has no option without capacity use, or a channel index is out of range.
pub fn assign(accounts: &[Vec<Candidate>], capacity: &[f64]) -> Assignment {
    let nc = capacity.len();
    for (a, o) in accounts.iter().enumerate() {
        assert!(
            o.iter().any(|x| x.channel.is_none() || x.usage == 0.0),
            "account {a} has no option that uses no capacity"
        );
    }
    let mut prices = vec![0.0; nc];
    // Upper bound for any useful price: the largest value per unit of use.
    let top = accounts
        .iter()
        .flatten()
        .filter(|o| o.channel.is_some() && o.usage > 0.0)
        .map(|o| o.value.abs() / o.usage)
        .fold(0.0f64, f64::max)
        * 2.0
        + 1.0;
    for _round in 0..20 {
        let mut changed = false;
        for c in 0..nc {
            let over = |p: &[f64]| use_at(accounts, p, nc).1[c] > capacity[c] + 1e-9;
            let mut trial = prices.clone();
            trial[c] = 0.0;
            let new_price = if !over(&trial) {
                0.0
            } else {
                let (mut lo, mut hi) = (0.0, top);
                for _ in 0..60 {
                    let mid = (lo + hi) / 2.0;
                    trial[c] = mid;
                    if over(&trial) {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                }
                hi
            };
            if (new_price - prices[c]).abs() > 1e-12 * (1.0 + prices[c]) {
                changed = true;
            }
            prices[c] = new_price;
        }
        if !changed {
            break;
        }
    }
    let (mut choice, mut used) = use_at(accounts, &prices, nc);
    // Repair any overuse left by prices that settled inside a tie: drop the least valuable
    // per unit first, to the account's best option that uses no capacity.
    for c in 0..nc {
        if used[c] <= capacity[c] + 1e-9 {
            continue;
        }
        let mut on_c: Vec<usize> = (0..accounts.len())
            .filter(|&a| accounts[a][choice[a]].channel == Some(c))
            .collect();
        let free = |a: usize| {
            (0..accounts[a].len())
                .filter(|&k| accounts[a][k].channel.is_none() || accounts[a][k].usage == 0.0)
                .max_by(|&x, &y| accounts[a][x].value.total_cmp(&accounts[a][y].value))
                .unwrap_or(0)
        };
        on_c.sort_by(|&x, &y| {
            let loss = |a: usize| {
                let o = accounts[a][choice[a]];
                (o.value - accounts[a][free(a)].value) / o.usage.max(1e-12)
            };
            loss(x).total_cmp(&loss(y))
        });
        for a in on_c {
            if used[c] <= capacity[c] + 1e-9 {
                break;
            }
            used[c] -= accounts[a][choice[a]].usage;
            choice[a] = free(a);
        }
    }
    // Fill what is left: the switches with the best gain per unit of use that still fit.
    loop {
        let mut best: Option<(usize, usize, f64)> = None;
        for (a, opts) in accounts.iter().enumerate() {
            let cur = opts[choice[a]];
            for (k, o) in opts.iter().enumerate() {
                let gain = o.value - cur.value;
                if gain <= 1e-12 {
                    continue;
                }
                let mut extra = vec![0.0; nc];
                if let Some(c) = o.channel {
                    extra[c] += o.usage;
                }
                if let Some(c) = cur.channel {
                    extra[c] -= cur.usage;
                }
                if (0..nc).any(|c| used[c] + extra[c] > capacity[c] + 1e-9) {
                    continue;
                }
                let units: f64 = extra.iter().map(|e| e.max(0.0)).sum::<f64>().max(1e-9);
                let score = gain / units;
                if best.is_none_or(|(_, _, s)| score > s) {
                    best = Some((a, k, score));
                }
            }
        }
        let Some((a, k, _)) = best else { break };
        let (old, new) = (accounts[a][choice[a]], accounts[a][k]);
        if let Some(c) = old.channel {
            used[c] -= old.usage;
        }
        if let Some(c) = new.channel {
            used[c] += new.usage;
        }
        choice[a] = k;
    }
    let total_value = accounts.iter().zip(&choice).map(|(o, &k)| o[k].value).sum();
    Assignment {
        choice,
        prices,
        used,
        total_value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn random_problem(seed: u64, n: usize) -> (Vec<Vec<Candidate>>, Vec<f64>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let accounts = (0..n)
            .map(|_| {
                let mut o = vec![Candidate {
                    value: 0.0,
                    channel: None,
                    usage: 0.0,
                }];
                for c in 0..2 {
                    o.push(Candidate {
                        value: rng.random_range(-1.0..10.0),
                        channel: Some(c),
                        usage: rng.random_range(1.0..4.0),
                    });
                }
                o
            })
            .collect();
        (
            accounts,
            vec![rng.random_range(3.0..8.0), rng.random_range(3.0..8.0)],
        )
    }

    /// The exact optimum by enumeration (3 options per account).
    fn exact(accounts: &[Vec<Candidate>], capacity: &[f64]) -> f64 {
        let n = accounts.len();
        let mut best = f64::NEG_INFINITY;
        for code in 0..3usize.pow(n as u32) {
            let (mut c, mut v, mut used) = (code, 0.0, vec![0.0; capacity.len()]);
            for o in accounts {
                let x = o[c % 3];
                c /= 3;
                v += x.value;
                if let Some(ch) = x.channel {
                    used[ch] += x.usage;
                }
            }
            if used.iter().zip(capacity).all(|(u, c)| *u <= c + 1e-9) {
                best = best.max(v);
            }
        }
        best
    }

    #[test]
    fn capacities_hold_and_the_value_is_near_the_exact_optimum() {
        let mut gaps = Vec::new();
        for seed in 0..40 {
            let (accounts, capacity) = random_problem(seed, 8);
            let a = assign(&accounts, &capacity);
            for (u, c) in a.used.iter().zip(&capacity) {
                assert!(*u <= c + 1e-9, "seed {seed}: {u} > {c}");
            }
            let opt = exact(&accounts, &capacity);
            assert!(a.total_value <= opt + 1e-9);
            gaps.push((opt - a.total_value) / opt.max(1e-9));
        }
        let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
        let worst = gaps.iter().copied().fold(0.0, f64::max);
        // Measured: mean gap 3.0%, worst 15.6% over these 40 instances of 8 accounts. Small
        // instances are the hard case for prices (few, lumpy options).
        assert!(mean < 0.04 && worst < 0.2, "mean gap {mean}, worst {worst}");
    }

    /// The exact optimum by mixed-integer programming: one binary per option, one option per
    /// account, capacity rows.
    fn milp(accounts: &[Vec<Candidate>], capacity: &[f64]) -> f64 {
        use microlp::{ComparisonOp, OptimizationDirection, Problem};
        let mut p = Problem::new(OptimizationDirection::Maximize);
        let mut per_channel: Vec<Vec<(microlp::Variable, f64)>> = vec![Vec::new(); capacity.len()];
        for o in accounts {
            let vars: Vec<(microlp::Variable, f64)> = o
                .iter()
                .map(|x| {
                    let v = p.add_binary_var(x.value);
                    if let Some(c) = x.channel {
                        per_channel[c].push((v, x.usage));
                    }
                    (v, 1.0)
                })
                .collect();
            p.add_constraint(&vars[..], ComparisonOp::Eq, 1.0);
        }
        for (terms, cap) in per_channel.iter().zip(capacity) {
            p.add_constraint(&terms[..], ComparisonOp::Le, *cap);
        }
        let outcome = p.solve().unwrap();
        assert!(outcome.is_optimal());
        outcome.solution().unwrap().objective()
    }

    /// `n` accounts with no contact and one option on each of `channels` channels, capacity
    /// for about a fifth of the wanted use.
    fn random_large(seed: u64, n: usize, channels: usize) -> (Vec<Vec<Candidate>>, Vec<f64>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let accounts: Vec<Vec<Candidate>> = (0..n)
            .map(|_| {
                let mut o = vec![Candidate {
                    value: 0.0,
                    channel: None,
                    usage: 0.0,
                }];
                for c in 0..channels {
                    o.push(Candidate {
                        value: rng.random_range(-2.0..10.0),
                        channel: Some(c),
                        usage: rng.random_range(1.0..4.0),
                    });
                }
                o
            })
            .collect();
        let capacity = (0..channels)
            .map(|_| n as f64 * rng.random_range(0.2..0.8))
            .collect();
        (accounts, capacity)
    }

    #[test]
    fn the_milp_optimum_matches_enumeration_and_bounds_the_prices_gap_on_larger_instances() {
        for seed in 0..10 {
            let (accounts, capacity) = random_problem(seed, 8);
            let (e, m) = (exact(&accounts, &capacity), milp(&accounts, &capacity));
            assert!(
                (e - m).abs() < 1e-6 * (1.0 + e.abs()),
                "seed {seed}: {e} vs {m}"
            );
        }
        let mut gaps = Vec::new();
        for seed in 0..6 {
            let (accounts, capacity) = random_large(100 + seed, 60, 3);
            let a = assign(&accounts, &capacity);
            for (u, c) in a.used.iter().zip(&capacity) {
                assert!(*u <= c + 1e-9, "seed {seed}: {u} > {c}");
            }
            let opt = milp(&accounts, &capacity);
            assert!(a.total_value <= opt + 1e-6);
            gaps.push((opt - a.total_value) / opt);
        }
        let worst = gaps.iter().copied().fold(0.0, f64::max);
        eprintln!("gaps to the MILP optimum: {gaps:?}");
        let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
        // Measured: mean gap 1.05%, worst 1.6% over these 6 instances of 60 accounts and 3
        // channels (3.0% / 15.6% at 8 accounts): the prices' loss shrinks as each account
        // becomes a small share of a channel.
        assert!(mean < 0.015 && worst < 0.025, "gaps {gaps:?}");
    }

    #[test]
    fn without_binding_capacity_everyone_gets_their_best_option() {
        let (accounts, _) = random_problem(1, 50);
        let a = assign(&accounts, &[1e9, 1e9]);
        for (o, &k) in accounts.iter().zip(&a.choice) {
            let best = o.iter().map(|x| x.value).fold(f64::NEG_INFINITY, f64::max);
            assert_eq!(o[k].value, best);
        }
        assert_eq!(a.prices, vec![0.0, 0.0]);
    }
}
