//! Refused sign-ins: the closed set of reasons, the page that says why, and the organization's
//! audit log, which records the reason and never words of the request's, folded to one event
//! per reason and window so that strangers cannot flood it.

use chrono::{Duration, Utc};
use entity::{organization, user};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, QuerySelect, Set};
use serde_json::json;
use uuid::Uuid;

use super::provider::Rejection;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::services::AppState;
use crate::services::RequestMeta;
use crate::services::audit::{Action, Actor, Event, Scope};
use crate::services::store::scope::write_recording;

/// A sign-in that did not go through, as the page the browser is shown says it.
#[derive(Debug, Clone)]
pub struct Failure {
    pub status: u16,
    pub message: String,
}

impl Failure {
    pub(super) fn new(status: u16, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
}

impl From<ApiError> for Failure {
    fn from(err: ApiError) -> Self {
        let status = err.code.http_status().as_u16();
        if err.code == ErrorCode::Internal {
            tracing::error!(error = %err.message, "single sign-on failed");
            Self::new(
                status,
                "single sign-on failed on Charter's side; try again later",
            )
        } else {
            Self::new(status, err.message)
        }
    }
}

/// Why a sign-in was refused: a closed set. The organization's log records the reason and
/// never words of the request's (a provider's error text, a claim), so nobody writes into it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The provider answered with an error instead of a code.
    ProviderError,
    /// The code exchange or the ID token's checks failed.
    ProviderRejected,
    /// The connection was turned off or moved to another issuer during the sign-in.
    ConnectionChanged,
    NoEmail,
    EmailUnverified,
    ForeignDomain,
    NotMember,
    AccountDisabled,
    /// The organization's provisioning suspended the person's membership.
    Suspended,
    NoSeat,
    /// A SAML Response failed one of its checks.
    Assertion(crate::saml::sp::Refused),
    /// A SAML assertion that already signed someone in.
    Replayed,
    /// A client certificate failed one of its checks.
    Certificate(crate::clientcert::Refused),
}

impl Reason {
    /// The code the audit event's payload carries.
    pub fn code(self) -> &'static str {
        match self {
            Reason::ProviderError => "provider_error",
            Reason::ProviderRejected => "provider_rejected",
            Reason::ConnectionChanged => "connection_changed",
            Reason::NoEmail => "no_email",
            Reason::EmailUnverified => "email_unverified",
            Reason::ForeignDomain => "foreign_domain",
            Reason::NotMember => "not_member",
            Reason::AccountDisabled => "account_disabled",
            Reason::Suspended => "suspended",
            Reason::NoSeat => "no_seat",
            Reason::Assertion(refused) => refused.code(),
            Reason::Replayed => "replayed",
            Reason::Certificate(refused) => refused.code(),
        }
    }

    /// What the person is shown, and the log says.
    fn describe(self) -> &'static str {
        match self {
            Reason::ProviderError => "the identity provider did not sign you in",
            Reason::ProviderRejected => {
                "the identity provider's answer could not be verified; start the sign-in again"
            }
            Reason::ConnectionChanged => {
                "the organization's single sign-on was changed or turned off during the sign-in"
            }
            Reason::NoEmail => "the identity provider sent no usable email address for you",
            Reason::EmailUnverified => {
                "the identity provider has not verified your email address (email_verified), so it cannot name a Charter account"
            }
            Reason::ForeignDomain => {
                "your email's domain is not a verified domain of this organization, so single sign-on cannot name your account"
            }
            Reason::NotMember => {
                "you are not a member of this organization; ask its administrators for an invitation"
            }
            Reason::AccountDisabled => "your Charter account is disabled",
            Reason::Suspended => {
                "your membership of this organization is suspended; ask its administrators"
            }
            Reason::NoSeat => {
                "the organization has no free seat for you; ask its administrators to free or buy one"
            }
            Reason::Assertion(refused) => refused.describe(),
            Reason::Replayed => {
                "this assertion has already been used to sign in; start the sign-in again"
            }
            Reason::Certificate(refused) => refused.describe(),
        }
    }
}

/// A refused sign-in: its reason, what the page adds for the person in front of it, and whose
/// account it concerned when the provider named one.
#[derive(Debug, Clone)]
pub(super) struct Refused {
    reason: Reason,
    detail: Option<String>,
    user: Option<Uuid>,
}

impl Refused {
    pub(super) fn of(reason: Reason) -> Self {
        Self {
            reason,
            detail: None,
            user: None,
        }
    }

    pub(super) fn about(self, user: &user::Model) -> Self {
        Self {
            user: Some(user.id),
            ..self
        }
    }

    /// The provider's `error`, shown only when it is one of the codes OAuth and OpenID define.
    pub(super) fn provider_error(error: &str) -> Self {
        const KNOWN: &[&str] = &[
            "access_denied",
            "invalid_request",
            "unauthorized_client",
            "unsupported_response_type",
            "invalid_scope",
            "server_error",
            "temporarily_unavailable",
            "interaction_required",
            "login_required",
            "account_selection_required",
            "consent_required",
            "invalid_request_uri",
            "invalid_request_object",
            "request_not_supported",
            "request_uri_not_supported",
            "registration_not_supported",
        ];
        Self {
            detail: KNOWN.contains(&error).then(|| error.to_owned()),
            ..Self::of(Reason::ProviderError)
        }
    }

    /// The exchange's or the ID token's failure, for the page: what Charter checked, printable.
    pub(super) fn rejected(rejection: &Rejection) -> Self {
        let detail = rejection
            .message()
            .chars()
            .filter(|c| !c.is_control() && !is_bidi_control(*c))
            .take(300)
            .collect();
        Self {
            detail: Some(detail),
            ..Self::of(Reason::ProviderRejected)
        }
    }

    fn page(&self) -> String {
        match &self.detail {
            Some(detail) => format!("{} ({detail})", self.reason.describe()),
            None => self.reason.describe().to_owned(),
        }
    }
}

/// Unicode's explicit direction marks and isolates, which could reorder what a page shows.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// How long one reason's refusals in one organization fold into a single audit event.
pub const REFUSAL_WINDOW: Duration = Duration::minutes(15);

/// Records a refused sign-in in the organization's log, folded: the first refusal of each
/// reason in a [`REFUSAL_WINDOW`] is an event, which counts the refusals since the last one
/// that went unrecorded; the others only count. Answers the page that says why.
pub(super) async fn refusal(
    state: &AppState,
    org: &organization::Model,
    refused: Refused,
    meta: &RequestMeta,
) -> Failure {
    let reason = refused.reason;
    let recorded = write_recording(&state.db, async |txn| {
        let Some(unrecorded) = tally(txn, org.id, reason).await? else {
            return Ok((false, vec![]));
        };
        let actor = Actor {
            ip: meta.ip.clone(),
            user_agent: meta.user_agent.clone(),
            ..Actor::default()
        };
        let mut event = Event::new(
            Scope::Organization(org.id),
            Action::SsoSignInRefused,
            format!("a single sign-on was refused: {}", reason.describe()),
        )
        .payload(json!({ "reason": reason.code(), "unrecordedBefore": unrecorded }));
        if let Some(user) = refused.user {
            event = event.target("user", user);
        }
        Ok((true, vec![(actor, event)]))
    })
    .await;
    crate::metrics::metrics().sign_in("single_sign_on", "refused");
    match recorded {
        Ok(true) => {
            tracing::info!(organization = %org.id, reason = reason.code(), "single sign-on refused")
        }
        Ok(false) => {
            tracing::debug!(organization = %org.id, reason = reason.code(), "single sign-on refused")
        }
        Err(err) => tracing::error!(error = %err.message, "recording a refused single sign-on"),
    }
    Failure::new(403, refused.page())
}

/// Counts a refusal of `reason` in `organization_id`: `Some(unrecorded)` when the log should
/// record it (the first in its window, with how many went unrecorded before), `None` when it
/// only counts.
async fn tally(
    txn: &impl ConnectionTrait,
    organization_id: Uuid,
    reason: Reason,
) -> ApiResult<Option<i64>> {
    use entity::sso_refusal_tally as tally;
    use sea_orm::sea_query::OnConflict;
    let now = Utc::now();
    tally::Entity::insert(tally::ActiveModel {
        organization_id: Set(organization_id),
        reason: Set(reason.code().to_owned()),
        window_started_at: Set(now - REFUSAL_WINDOW - Duration::seconds(1)),
        suppressed: Set(0),
    })
    .on_conflict(
        OnConflict::columns([tally::Column::OrganizationId, tally::Column::Reason])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(txn)
    .await?;
    let row = tally::Entity::find_by_id((organization_id, reason.code().to_owned()))
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or_else(|| ApiError::internal("a refusal tally vanished"))?;
    let due = row.window_started_at + REFUSAL_WINDOW <= now;
    let mut active: tally::ActiveModel = row.clone().into();
    if due {
        active.window_started_at = Set(now);
        active.suppressed = Set(0);
    } else {
        active.suppressed = Set(row.suppressed + 1);
    }
    active.update(txn).await?;
    Ok(due.then_some(row.suppressed))
}
