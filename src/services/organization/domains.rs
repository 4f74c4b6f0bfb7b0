//! Verified email domains: an organization claims a domain, publishes the random value Charter
//! gives it in the TXT record `_charter-challenge.<domain>`, and asks Charter to look it up.
//! One organization at a time holds a domain verified (a partial unique index says so to both
//! databases). Home-realm discovery answers the start URL of the organization whose verified
//! domain an email is in, and nothing about whether the email has an account.

use std::net::SocketAddr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use entity::organization_domain;
use hickory_resolver::config::{NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RData;
use hickory_resolver::{Resolver, TokioResolver};
use rand::RngCore;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set, SqlErr,
};
use serde_json::json;
use uuid::Uuid;

use crate::domain::text::{self, TextKind};
use crate::error::{ApiError, ApiResult};
use crate::services::AppState;
use crate::services::audit::Action;
use crate::services::store::scope::OrgChange;

/// The label the challenge record sits under.
pub const CHALLENGE_LABEL: &str = "_charter-challenge";
/// The prefix of the challenge value, so the record says what it is for.
const VALUE_PREFIX: &str = "charter-domain-verification=";
/// Domains an organization may claim.
pub const MAX_PER_ORGANIZATION: u64 = 20;

/// A claimed domain and the record that proves it.
#[derive(Debug, Clone)]
pub struct DomainRecord {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub domain: String,
    pub verified_at: Option<chrono::DateTime<Utc>>,
    pub created_at: chrono::DateTime<Utc>,
    /// The TXT record's name.
    pub record_name: String,
    /// The value the TXT record must hold.
    pub record_value: String,
}

impl From<organization_domain::Model> for DomainRecord {
    fn from(model: organization_domain::Model) -> Self {
        Self {
            record_name: format!("{CHALLENGE_LABEL}.{}", model.domain),
            record_value: format!("{VALUE_PREFIX}{}", model.challenge),
            id: model.id,
            organization_id: model.organization_id,
            domain: model.domain,
            verified_at: model.verified_at,
            created_at: model.created_at,
        }
    }
}

/// The domain `value` names, in lowercase ASCII: a host name of at least two labels.
pub fn parse_domain(value: &str) -> ApiResult<String> {
    text::check("domain", TextKind::Line, value, 253)?;
    let domain = crate::domain::host_name(value.trim())
        .map_err(|reason| ApiError::invalid("domain", reason))?;
    if !domain.contains('.') {
        return Err(ApiError::invalid(
            "domain",
            "must have at least two labels, like example.com",
        ));
    }
    Ok(domain)
}

/// Claims `domain` for the organization, unverified, with a new random challenge.
pub async fn add(change: &OrgChange, domain: &str) -> ApiResult<DomainRecord> {
    let domain = parse_domain(domain)?;
    let creator = change.actor().user_id;
    let model = change
        .write(async |tx| {
            let org = tx.organization.id;
            let claimed = organization_domain::Entity::find()
                .filter(organization_domain::Column::OrganizationId.eq(org))
                .count(tx.txn)
                .await?;
            if claimed >= MAX_PER_ORGANIZATION {
                return Err(ApiError::conflict(format!(
                    "an organization claims at most {MAX_PER_ORGANIZATION} domains"
                )));
            }
            let exists = organization_domain::Entity::find()
                .filter(organization_domain::Column::OrganizationId.eq(org))
                .filter(organization_domain::Column::Domain.eq(domain.as_str()))
                .one(tx.txn)
                .await?;
            if exists.is_some() {
                return Err(ApiError::conflict(format!(
                    "{domain} is already claimed by this organization"
                )));
            }
            let mut challenge = [0u8; 24];
            rand::rngs::OsRng.fill_bytes(&mut challenge);
            let model = organization_domain::ActiveModel {
                id: Set(Uuid::now_v7()),
                organization_id: Set(org),
                domain: Set(domain.clone()),
                challenge: Set(URL_SAFE_NO_PAD.encode(challenge)),
                created_by: Set(creator),
                created_at: Set(Utc::now()),
                verified_at: Set(None),
            }
            .insert(tx.txn)
            .await?;
            let event = tx
                .event(Action::DomainAdded, format!("claimed the domain {domain}"))
                .target("organization_domain", model.id)
                .payload(json!({ "after": { "domain": domain } }));
            Ok((model, Some(event)))
        })
        .await?;
    Ok(model.into())
}

/// The domain `id` of the organization behind `change`, or NOT_FOUND.
pub async fn organization_of(state: &AppState, id: Uuid) -> ApiResult<Uuid> {
    Ok(organization_domain::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found("domain"))?
        .organization_id)
}

/// Looks the challenge up in DNS and marks the domain verified when a TXT record holds it.
/// INVALID_INPUT (saying what was looked up and found) when it does not; CONFLICT when another
/// organization holds the domain verified.
pub async fn verify(state: &AppState, change: &OrgChange, id: Uuid) -> ApiResult<DomainRecord> {
    let found = domain_in(&state.db, change.organization_id(), id).await?;
    if found.verified_at.is_some() {
        return Ok(found.into());
    }
    let record: DomainRecord = found.clone().into();
    let values = txt_values(state.settings.sso.dns_server, &record.record_name).await?;
    if !values
        .iter()
        .any(|value| value.trim() == record.record_value)
    {
        let seen = if values.is_empty() {
            "no TXT record".to_owned()
        } else {
            format!("{} TXT record(s), none with the challenge", values.len())
        };
        return Err(ApiError::invalid(
            "id",
            format!(
                "{} is not verified yet: {seen} at {}; publish a TXT record there with the value {}",
                record.domain, record.record_name, record.record_value
            ),
        ));
    }
    let model = change
        .write(async |tx| {
            let row = domain_in(tx.txn, tx.organization.id, id).await?;
            if row.verified_at.is_some() {
                return Ok((row, None));
            }
            let domain = row.domain.clone();
            let mut active: organization_domain::ActiveModel = row.into();
            active.verified_at = Set(Some(Utc::now()));
            let model = active
                .update(tx.txn)
                .await
                .map_err(|err| match err.sql_err() {
                    Some(SqlErr::UniqueConstraintViolation(_)) => {
                        ApiError::conflict(format!("{domain} is verified by another organization"))
                    }
                    _ => err.into(),
                })?;
            let event = tx
                .event(
                    Action::DomainVerified,
                    format!("verified the domain {domain}"),
                )
                .target("organization_domain", model.id)
                .payload(json!({ "after": { "domain": domain, "verified": true } }));
            Ok((model, Some(event)))
        })
        .await?;
    Ok(model.into())
}

/// Gives a domain up; enforcement over its members lifts with it.
pub async fn remove(change: &OrgChange, id: Uuid) -> ApiResult<()> {
    change
        .write(async |tx| {
            let row = domain_in(tx.txn, tx.organization.id, id).await?;
            organization_domain::Entity::delete_by_id(row.id)
                .exec(tx.txn)
                .await?;
            let event = tx
                .event(Action::DomainRemoved, format!("gave up the domain {}", row.domain))
                .target("organization_domain", row.id)
                .payload(json!({ "before": { "domain": row.domain, "verified": row.verified_at.is_some() } }));
            Ok(((), Some(event)))
        })
        .await
}

async fn domain_in(
    db: &impl sea_orm::ConnectionTrait,
    organization_id: Uuid,
    id: Uuid,
) -> ApiResult<organization_domain::Model> {
    organization_domain::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|row| row.organization_id == organization_id)
        .ok_or_else(|| ApiError::not_found("domain"))
}

/// The TXT strings at `name`, through `server` (or the system's resolvers): none when the name
/// does not exist; an error when DNS does not answer.
async fn txt_values(server: Option<SocketAddr>, name: &str) -> ApiResult<Vec<String>> {
    let resolver = resolver(server)?;
    let fqdn = format!("{name}.");
    match resolver.txt_lookup(fqdn.as_str()).await {
        Ok(lookup) => Ok(lookup
            .answers()
            .iter()
            .filter_map(|record| match &record.data {
                RData::TXT(txt) => Some(
                    txt.txt_data
                        .iter()
                        .map(|part| String::from_utf8_lossy(part))
                        .collect::<String>(),
                ),
                _ => None,
            })
            .collect()),
        Err(err) if err.is_no_records_found() || err.is_nx_domain() => Ok(vec![]),
        Err(err) => Err(ApiError::new(
            crate::error::ErrorCode::InvalidInput,
            format!("the DNS lookup of {name} failed: {err}; try again"),
        )
        .with_detail("field", json!("id"))),
    }
}

/// A resolver without a cache (each verification asks DNS afresh).
fn resolver(server: Option<SocketAddr>) -> ApiResult<TokioResolver> {
    let mut builder = match server {
        Some(address) => {
            let mut name_server = NameServerConfig::udp_and_tcp(address.ip());
            for connection in &mut name_server.connections {
                connection.port = address.port();
            }
            Resolver::builder_with_config(
                ResolverConfig::from_name_servers(vec![name_server]),
                TokioRuntimeProvider::default(),
            )
        }
        None => TokioResolver::builder_tokio().map_err(|err| {
            ApiError::internal(format!("reading the system's DNS configuration: {err}"))
        })?,
    };
    let options = builder.options_mut();
    options.cache_size = 0;
    options.attempts = 2;
    options.timeout = std::time::Duration::from_secs(3);
    builder
        .build()
        .map_err(|err| ApiError::internal(format!("building the DNS resolver: {err}")))
}
