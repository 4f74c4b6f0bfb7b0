//! When a delivery is tried again, and what an answer means for it and its endpoint.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;

/// The waits after each failed attempt: the first attempt goes at once, then 5 s, 5 min,
/// 30 min, 2 h, 5 h and 10 h six times: twelve attempts over about 2.8 days.
const WAITS: [Duration; 11] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 60 * 60),
    Duration::from_secs(5 * 60 * 60),
    Duration::from_secs(10 * 60 * 60),
    Duration::from_secs(10 * 60 * 60),
    Duration::from_secs(10 * 60 * 60),
    Duration::from_secs(10 * 60 * 60),
    Duration::from_secs(10 * 60 * 60),
    Duration::from_secs(10 * 60 * 60),
];
/// The longest a `Retry-After` is honoured for.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(10 * 60 * 60);
/// An endpoint whose attempts have all failed for this long is disabled.
pub const FAILING_DAYS: i64 = 5;

/// What happened to one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A 2xx answer.
    Delivered,
    /// `410 Gone`: the receiver asks for no more; the endpoint is disabled.
    Gone,
    /// Anything else: another attempt follows unless this was the last, at the time the
    /// receiver asked for (`Retry-After` on 429 and 503) or the schedule's.
    Failed { retry_after: Option<Duration> },
}

impl Outcome {
    /// The outcome of an answer with `status` and its `Retry-After` header.
    pub fn of_answer(status: u16, retry_after: Option<&str>, now: DateTime<Utc>) -> Self {
        match status {
            200..=299 => Outcome::Delivered,
            410 => Outcome::Gone,
            429 | 503 => Outcome::Failed {
                retry_after: retry_after.and_then(|value| parse_retry_after(value, now)),
            },
            _ => Outcome::Failed { retry_after: None },
        }
    }
}

/// When to try again after `attempts` failed attempts, or none when that was the last: the
/// schedule's wait with ±10 % jitter, so endpoints failing together do not retry together; or
/// the receiver's `retry_after`.
pub fn next_attempt(
    attempts: i32,
    retry_after: Option<Duration>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let index = usize::try_from(attempts).ok()?.checked_sub(1)?;
    let wait = WAITS.get(index)?;
    let wait = match retry_after {
        Some(asked) => asked.min(MAX_RETRY_AFTER),
        None => wait.mul_f64(rand::thread_rng().gen_range(0.9..=1.1)),
    };
    Some(now + chrono::Duration::from_std(wait).ok()?)
}

/// The most attempts a delivery gets.
pub const MAX_ATTEMPTS: i32 = WAITS.len() as i32 + 1;

/// A `Retry-After` value: seconds, or an HTTP date; none when it is neither or in the past.
fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    (at - now).to_std().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_waits_grow_to_about_three_days_then_stop() {
        let now = Utc::now();
        let mut total = chrono::Duration::zero();
        let mut previous = chrono::Duration::zero();
        for attempts in 1..MAX_ATTEMPTS {
            let wait = next_attempt(attempts, None, now).unwrap() - now;
            // Never shorter, beyond the two waits' jitter (±10 % each).
            assert!(wait >= previous * 8 / 10, "attempt {attempts}: {wait}");
            previous = wait;
            total += wait;
        }
        assert_eq!(next_attempt(MAX_ATTEMPTS, None, now), None);
        assert!(
            (60..80).contains(&total.num_hours()),
            "{} hours",
            total.num_hours()
        );
        let first = next_attempt(1, None, now).unwrap() - now;
        assert!((4500..=5500).contains(&first.num_milliseconds()), "{first}");
    }

    #[test]
    fn answers_decide_the_outcome() {
        let now = Utc::now();
        assert_eq!(Outcome::of_answer(204, None, now), Outcome::Delivered);
        assert_eq!(Outcome::of_answer(410, None, now), Outcome::Gone);
        assert_eq!(
            Outcome::of_answer(500, Some("30"), now),
            Outcome::Failed { retry_after: None }
        );
        assert_eq!(
            Outcome::of_answer(429, Some("30"), now),
            Outcome::Failed {
                retry_after: Some(Duration::from_secs(30))
            }
        );
        let later = (now + chrono::Duration::seconds(120)).to_rfc2822();
        let Outcome::Failed {
            retry_after: Some(wait),
        } = Outcome::of_answer(503, Some(&later), now)
        else {
            panic!("a date is a Retry-After")
        };
        assert!((119..=120).contains(&wait.as_secs()), "{wait:?}");
        assert_eq!(
            Outcome::of_answer(503, Some("soon"), now),
            Outcome::Failed { retry_after: None }
        );
        let asked = next_attempt(1, Some(Duration::from_secs(86_400 * 30)), now).unwrap();
        assert_eq!((asked - now).num_hours(), 10);
    }
}
