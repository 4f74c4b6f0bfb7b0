//! The use cases, in rooms that stand on one another (the architecture test keeps the order):
//!
//! - [`store`]: the floor under the gate: records, seats, and the gate itself ([`OrgScope`],
//!   [`OrgChange`], the one write path);
//! - [`audit`]: the hash-chained log every change writes in its transaction;
//! - [`webhooks`]: the audit log's events turned into deliveries, sent under leases, and the
//!   chains' signed checkpoints;
//! - [`identity`]: who you are and how you got in: accounts, credentials, second factors, the
//!   sign-in door and its first factors, sessions, key authentication;
//! - [`organization`]: every use case that takes an [`OrgScope`] or an [`OrgChange`];
//! - [`bootstrap`]: the first owner and the demo data.
//!
//! GraphQL resolvers only call into here.
//!
//! [`OrgScope`]: store::scope::OrgScope
//! [`OrgChange`]: store::scope::OrgChange

pub mod audit;
pub mod bootstrap;
pub mod identity;
pub mod keys;
pub mod observed;
pub mod organization;
pub mod store;
pub mod webhooks;

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::auth::tokens::TokenIssuer;
use crate::authz::Policy;
use crate::config::Settings;
use crate::error::ApiError;

/// What the services share: the database connection, which only the services reach, and the
/// rest ([`Shared`]), which anyone holding the state may read.
#[derive(Clone)]
pub struct AppState {
    pub(in crate::services) db: DatabaseConnection,
    shared: Arc<Shared>,
}

/// The compiled policy, the token issuer, the settings and the other parts the services and
/// the HTTP layer read.
pub struct Shared {
    pub policy: Arc<Policy>,
    pub tokens: Arc<TokenIssuer>,
    pub settings: Arc<Settings>,
    pub mailer: Arc<crate::mail::Mailer>,
    pub sso: Arc<identity::sso::Runtime>,
    /// Seals the secrets Charter must read back (client secrets, TOTP secrets).
    pub secrets: Arc<crate::auth::sealing::SecretBox>,
    /// The WebAuthn relying party, when the settings name one.
    pub webauthn: Option<Arc<webauthn_rs::prelude::Webauthn>>,
    /// Webhook delivery: the guarded client, the clock, this process's leases.
    pub webhooks: Arc<webhooks::Runtime>,
}

impl AppState {
    pub fn new(db: DatabaseConnection, shared: Shared) -> Self {
        Self {
            db,
            shared: Arc::new(shared),
        }
    }

    /// Whether the database answers within `within` (the readiness probe).
    pub async fn ping(&self, within: std::time::Duration) -> bool {
        crate::db::ping(&self.db, within).await
    }

    /// The connection itself: the seam the test suite and the benchmarks arrange and inspect
    /// rows through. Nothing in `src/` calls it (the architecture test checks); the service
    /// code reaches the database through the store.
    #[doc(hidden)]
    pub fn database(&self) -> &DatabaseConnection {
        &self.db
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.shared
    }
}

/// Where a request came from, recorded on sessions (and audit events).
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// How many items a page holds and where it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PageArgs {
    pub first: u64,
    pub after: Option<uuid::Uuid>,
}

impl PageArgs {
    pub const DEFAULT: u64 = 20;
    pub const MAX: u64 = 100;

    /// Validates `first` (1 to 100, default 20).
    pub fn new(first: Option<i32>, after: Option<uuid::Uuid>) -> Result<Self, ApiError> {
        let first = match first {
            None => Self::DEFAULT,
            Some(n) if (1..=Self::MAX as i32).contains(&n) => n as u64,
            Some(_) => {
                return Err(ApiError::invalid(
                    "first",
                    format!("must be between 1 and {}", Self::MAX),
                ));
            }
        };
        Ok(Self { first, after })
    }
}

/// One page of a keyset-paginated list.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_next_page: bool,
}

impl<T> Page<T> {
    /// Builds a page from up to `first + 1` rows: the extra row only says there is a next page.
    pub fn from_rows(mut rows: Vec<T>, first: u64) -> Self {
        let has_next_page = rows.len() as u64 > first;
        rows.truncate(first as usize);
        Self {
            items: rows,
            has_next_page,
        }
    }

    pub fn empty() -> Self {
        Self {
            items: Vec::new(),
            has_next_page: false,
        }
    }

    /// The same page with each item turned into `U`.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            has_next_page: self.has_next_page,
        }
    }
}
