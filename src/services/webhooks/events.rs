//! What an endpoint subscribes to: audit actions by name (`member.added`), by prefix
//! (`member.*`), or all of them (`*`), and the checkpoints of the audit chain
//! (`audit.checkpoint`).

use crate::error::{ApiError, ApiResult};
use crate::services::audit::Action;

/// The event type of a signed checkpoint of the organization's audit chain.
pub const CHECKPOINT: &str = "audit.checkpoint";
/// The event type of `sendTestWebhook`, sent whatever the endpoint subscribes to.
pub const TEST: &str = "webhook.test";
/// The most patterns one endpoint may list.
pub const MAX_PATTERNS: usize = 100;

/// Every event type an endpoint may receive: the audit action catalog, then the checkpoint.
pub fn types() -> Vec<&'static str> {
    Action::ALL
        .iter()
        .map(|action| action.as_str())
        .chain([CHECKPOINT])
        .collect()
}

/// An endpoint's subscription, checked: each pattern names a known type or is the prefix of
/// one followed by `.*`, or is `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription(Vec<String>);

impl Subscription {
    /// `patterns` as a subscription, or INVALID_INPUT naming `field` (none given, too many, or
    /// one that matches no event type; the value is not repeated).
    pub fn parse(field: &'static str, patterns: &[String]) -> ApiResult<Self> {
        if patterns.is_empty() {
            return Err(ApiError::invalid(
                field,
                "must list at least one event type, prefix.* or *",
            ));
        }
        if patterns.len() > MAX_PATTERNS {
            return Err(ApiError::invalid(
                field,
                format!("may list at most {MAX_PATTERNS} patterns"),
            ));
        }
        let known = types();
        let mut kept: Vec<String> = Vec::with_capacity(patterns.len());
        for pattern in patterns {
            let pattern = pattern.trim();
            let valid = pattern.len() <= 64
                && (pattern == "*"
                    || match pattern.strip_suffix(".*") {
                        Some(prefix) => known.iter().any(|name| {
                            name.strip_prefix(prefix)
                                .is_some_and(|rest| rest.starts_with('.'))
                        }),
                        None => known.contains(&pattern),
                    });
            if !valid {
                return Err(ApiError::invalid(
                    field,
                    "holds a pattern that names no event type (see permissionCatalog.webhookEventTypes)",
                ));
            }
            if !kept.iter().any(|seen| seen == pattern) {
                kept.push(pattern.to_owned());
            }
        }
        Ok(Self(kept))
    }

    /// A subscription as stored, trusted (it was checked when written).
    pub fn stored(text: &str) -> Self {
        Self(serde_json::from_str(text).unwrap_or_default())
    }

    pub fn to_stored(&self) -> String {
        serde_json::to_string(&self.0).expect("strings serialize")
    }

    pub fn patterns(&self) -> &[String] {
        &self.0
    }

    /// Whether an event of type `name` is delivered.
    pub fn matches(&self, name: &str) -> bool {
        self.0.iter().any(|pattern| {
            pattern == "*"
                || pattern == name
                || pattern.strip_suffix(".*").is_some_and(|prefix| {
                    name.strip_prefix(prefix)
                        .is_some_and(|rest| rest.starts_with('.'))
                })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(patterns: &[&str]) -> ApiResult<Subscription> {
        let owned: Vec<String> = patterns.iter().map(|p| (*p).to_owned()).collect();
        Subscription::parse("events", &owned)
    }

    #[test]
    fn names_prefixes_and_everything_match_what_they_say() {
        let subscription = parse(&["member.*", "api_key.revoked", "audit.checkpoint"]).unwrap();
        assert!(subscription.matches("member.added"));
        assert!(subscription.matches("member.role_assigned"));
        assert!(subscription.matches("api_key.revoked"));
        assert!(subscription.matches(CHECKPOINT));
        assert!(!subscription.matches("api_key.created"));
        assert!(!subscription.matches("members.added"));
        assert!(!subscription.matches("role.created"));
        assert!(parse(&["*"]).unwrap().matches("list.shared"));
    }

    #[test]
    fn unknown_names_empty_and_oversized_lists_are_refused() {
        for bad in [
            vec![],
            vec!["member.exploded"],
            vec!["nothing.*"],
            vec!["mem*"],
            vec!["member."],
            vec!["member.added\0"],
            vec![".*"],
        ] {
            let err = parse(&bad).unwrap_err();
            assert_eq!(err.code, crate::error::ErrorCode::InvalidInput, "{bad:?}");
        }
        let many: Vec<String> = (0..=MAX_PATTERNS).map(|_| "*".to_owned()).collect();
        assert!(Subscription::parse("events", &many).is_err());
        let huge = vec!["m".repeat(1 << 20)];
        assert!(Subscription::parse("events", &huge).is_err());
    }

    #[test]
    fn duplicates_are_kept_once_and_stored_forms_round_trip() {
        let subscription = parse(&["member.*", " member.* ", "role.created"]).unwrap();
        assert_eq!(subscription.patterns(), ["member.*", "role.created"]);
        assert_eq!(
            Subscription::stored(&subscription.to_stored()),
            subscription
        );
    }
}
