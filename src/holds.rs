//! How long a number is held. The outcome-dependent rules build on these defaults.

/// A new assignment holds its number for this many hours unless a call outcome moves it.
pub const DEFAULT_HOLD_HOURS: i32 = 18;

/// `release_expired_phone_numbers` frees at most this many holds per statement. Each batch
/// locks only its own rows (skipping rows another transaction holds), so a large backlog
/// never becomes one huge statement; `release_expired_phone_numbers_in_batches` also commits
/// after each batch so no lock outlives its batch.
pub const RELEASE_BATCH_SIZE: i64 = 1000;

/// How many rows the next batch may release, given how many the caller still allows
/// (`None`: no limit). `None` when the limit has been reached.
pub fn next_batch_size(remaining: Option<i64>) -> Option<i64> {
    match remaining {
        None => Some(RELEASE_BATCH_SIZE),
        Some(left) if left > 0 => Some(left.min(RELEASE_BATCH_SIZE)),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_bounded_and_honour_the_callers_limit() {
        assert_eq!(next_batch_size(None), Some(RELEASE_BATCH_SIZE));
        assert_eq!(next_batch_size(Some(5)), Some(5));
        assert_eq!(
            next_batch_size(Some(RELEASE_BATCH_SIZE * 3)),
            Some(RELEASE_BATCH_SIZE)
        );
        assert_eq!(next_batch_size(Some(0)), None);
    }
}
