//! Walking id columns by runs of equal values.
//!
//! Event tables are usually grouped by account, so the same id repeats on consecutive rows.
//! Callers that look ids up in a hash map do it once per run; "same as the previous row" is
//! usually decided from the 16-byte string views alone, without touching the string bytes.

use polars::prelude::*;

/// Every row of `ca` in order: its index, its value, and whether it starts a new run (a null,
/// or a value different from the previous row's). A row that does not start a run always
/// equals the previous one; equal neighbours start a new run only at a chunk boundary.
pub fn rows_with_runs(ca: &StringChunked) -> impl Iterator<Item = (usize, Option<&str>, bool)> {
    let mut row = 0usize;
    ca.downcast_iter().flat_map(move |arr| {
        let start = row;
        row += arr.len();
        // Within one array, equal views mean equal strings (inline ones hold the bytes, others
        // point at the same bytes of the same buffer); different views may still hold equal
        // strings stored twice, so those are compared.
        let mut prev: Option<(u128, &str)> = None;
        arr.views().iter().enumerate().map(move |(i, view)| {
            let Some(value) = arr.get(i) else {
                prev = None;
                return (start + i, None, true);
            };
            let view = view.as_u128();
            let new_run = prev.is_none_or(|(v, s)| v != view && s != value);
            prev = Some((view, value));
            (start + i, Some(value), new_run)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_follow_equal_neighbours_across_chunks_and_nulls() {
        let long = "an-identifier-longer-than-twelve-bytes";
        let mut a = StringChunked::new("id".into(), &[Some("A1"), Some("A1"), None, Some(long)]);
        a.append(&StringChunked::new(
            "id".into(),
            &[Some(long), Some(long), Some("A1")],
        ))
        .unwrap();
        let got: Vec<(usize, Option<&str>, bool)> = rows_with_runs(&a).collect();
        assert_eq!(
            got,
            vec![
                (0, Some("A1"), true),
                (1, Some("A1"), false),
                (2, None, true),
                (3, Some(long), true),
                (4, Some(long), true),
                (5, Some(long), false),
                (6, Some("A1"), true),
            ]
        );
    }
}
