//! One change to record, as a service describes it before it joins a chain.

use serde_json::{Value, json};
use uuid::Uuid;

use super::Action;

/// Whose chain an event joins.
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    /// An organization's audit log.
    Organization(Uuid),
    /// A user's own security events (logins, sessions, account changes).
    User(Uuid),
}

impl Scope {
    pub fn chain(self) -> String {
        match self {
            Scope::Organization(id) => format!("org:{id}"),
            Scope::User(id) => format!("user:{id}"),
        }
    }

    /// The scope whose chain is named `chain`, the inverse of [`Scope::chain`].
    pub fn of_chain(chain: &str) -> Option<Self> {
        match chain.split_once(':') {
            Some(("org", id)) => Uuid::parse_str(id).ok().map(Scope::Organization),
            Some(("user", id)) => Uuid::parse_str(id).ok().map(Scope::User),
            _ => None,
        }
    }
}

/// One change to record.
#[derive(Debug, Clone)]
pub struct Event {
    pub scope: Scope,
    pub action: Action,
    pub target: Option<(&'static str, Uuid)>,
    pub description: String,
    /// What changed, typically `{"before": …, "after": …}`. Never a secret.
    pub payload: Value,
}

impl Event {
    pub fn new(scope: Scope, action: Action, description: impl Into<String>) -> Self {
        Self {
            scope,
            action,
            target: None,
            description: description.into(),
            payload: json!({}),
        }
    }

    pub fn target(mut self, kind: &'static str, id: Uuid) -> Self {
        self.target = Some((kind, id));
        self
    }

    pub fn payload(mut self, payload: Value) -> Self {
        self.payload = payload;
        self
    }
}
