//! Re-sealing every stored secret under the newest sealing key, in batches, while the service
//! runs (`charter keys rotate-sealing`). A value is written back only where the row still holds
//! the value that was read: a request that changed it meanwhile keeps its change, and the next
//! pass reads it again. The older sealing keys stay in the database, so a value a slow process
//! sealed with one still opens.

use std::collections::BTreeMap;

use sea_orm::sea_query::{Alias, Expr, ExprTrait, Order, Query};
use sea_orm::{ConnectionTrait, DbErr, QueryResult, Value};
use uuid::Uuid;

use super::sealing::{self, SecretBox};

/// Rows read and written at a time.
const BATCH: u64 = 200;
/// Passes over every column at most: a value changed under the first is read in the next.
const PASSES: usize = 4;

/// A column of sealed values: its table, the row's key, and the record the value is sealed for.
struct Sealed {
    table: &'static str,
    key: &'static str,
    /// The column whose bytes are the associated data: a UUID, or (`text_owner`) a string.
    owner: &'static str,
    text_owner: bool,
    column: &'static str,
}

const SEALED: [Sealed; 6] = [
    Sealed {
        table: "mfa_factors",
        key: "id",
        owner: "user_id",
        text_owner: false,
        column: "secret_sealed",
    },
    Sealed {
        table: "sso_connections",
        key: "id",
        owner: "organization_id",
        text_owner: false,
        column: "client_secret_sealed",
    },
    Sealed {
        table: "sso_connections",
        key: "id",
        owner: "organization_id",
        text_owner: false,
        column: "ldap_bind_password_sealed",
    },
    Sealed {
        table: "webhook_endpoints",
        key: "id",
        owner: "id",
        text_owner: false,
        column: "secret_sealed",
    },
    Sealed {
        table: "webhook_endpoints",
        key: "id",
        owner: "id",
        text_owner: false,
        column: "previous_secret_sealed",
    },
    Sealed {
        table: "signing_keys",
        key: "kid",
        owner: "kid",
        text_owner: true,
        column: "private_key_sealed",
    },
];

/// What re-sealing did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// Values now sealed under the newest key.
    pub resealed: usize,
    /// Values a request changed between the read and the write (read again).
    pub raced: usize,
    /// Values that did not open: `table.column` and the row's key.
    pub unopened: Vec<String>,
    /// After the last pass: how many values each key seals (`v1` for the secrets key itself).
    pub by_key: BTreeMap<String, usize>,
}

/// Re-seals every value not sealed under `secrets`' newest key.
pub async fn reseal(db: &impl ConnectionTrait, secrets: &SecretBox) -> anyhow::Result<Report> {
    let newest = secrets
        .sealing_key_id()
        .ok_or_else(|| anyhow::anyhow!("no sealing key is loaded"))?;
    let mut report = Report::default();
    for pass in 0..PASSES {
        let raced_before = report.raced;
        report.unopened.clear();
        for sealed in &SEALED {
            reseal_column(db, secrets, &newest, sealed, &mut report).await?;
        }
        tracing::info!(
            pass = pass + 1,
            resealed = report.resealed,
            raced = report.raced,
            "re-sealing"
        );
        if report.raced == raced_before {
            break;
        }
    }
    report.by_key = count_by_key(db).await?;
    Ok(report)
}

async fn reseal_column(
    db: &impl ConnectionTrait,
    secrets: &SecretBox,
    newest: &str,
    sealed: &Sealed,
    report: &mut Report,
) -> anyhow::Result<()> {
    let mut after: Option<Value> = None;
    loop {
        let rows = batch(db, sealed, after.clone()).await?;
        let Some(last) = rows.last() else {
            return Ok(());
        };
        after = Some(key_value(sealed, last)?);
        for row in &rows {
            let value: Option<String> = row.try_get_by_index(2)?;
            let Some(value) = value else { continue };
            if sealing::sealed_by(&value) == Some(newest) {
                continue;
            }
            let owner = owner_bytes(sealed, row)?;
            let key = key_value(sealed, row)?;
            let resealed = match secrets.open(&owner, &value) {
                Ok(plain) => secrets
                    .seal(&owner, &plain)
                    .map_err(|err| anyhow::anyhow!("{}", err.message))?,
                Err(_) => {
                    report
                        .unopened
                        .push(format!("{}.{} {key:?}", sealed.table, sealed.column));
                    continue;
                }
            };
            let update = Query::update()
                .table(Alias::new(sealed.table))
                .value(Alias::new(sealed.column), resealed)
                .and_where(Expr::col(Alias::new(sealed.key)).eq(key))
                .and_where(Expr::col(Alias::new(sealed.column)).eq(value))
                .to_owned();
            let written = db.execute(&update).await?;
            if written.rows_affected() == 1 {
                report.resealed += 1;
            } else {
                report.raced += 1;
            }
        }
    }
}

/// The next rows of `sealed`'s table after the key `after`: key, owner, value.
async fn batch(
    db: &impl ConnectionTrait,
    sealed: &Sealed,
    after: Option<Value>,
) -> Result<Vec<QueryResult>, DbErr> {
    let mut select = Query::select();
    select
        .columns([
            Alias::new(sealed.key),
            Alias::new(sealed.owner),
            Alias::new(sealed.column),
        ])
        .from(Alias::new(sealed.table))
        .order_by(Alias::new(sealed.key), Order::Asc)
        .limit(BATCH);
    if let Some(after) = after {
        select.and_where(Expr::col(Alias::new(sealed.key)).gt(after));
    }
    db.query_all(&select).await
}

fn key_value(sealed: &Sealed, row: &QueryResult) -> Result<Value, DbErr> {
    Ok(if sealed.text_owner {
        Value::from(row.try_get_by_index::<String>(0)?)
    } else {
        Value::from(row.try_get_by_index::<Uuid>(0)?)
    })
}

fn owner_bytes(sealed: &Sealed, row: &QueryResult) -> Result<Vec<u8>, DbErr> {
    Ok(if sealed.text_owner {
        row.try_get_by_index::<String>(1)?.into_bytes()
    } else {
        row.try_get_by_index::<Uuid>(1)?.as_bytes().to_vec()
    })
}

/// How many stored values each key seals (`v1` for those sealed with the secrets key itself).
pub async fn count_by_key(db: &impl ConnectionTrait) -> anyhow::Result<BTreeMap<String, usize>> {
    let mut counts = BTreeMap::new();
    for sealed in &SEALED {
        let mut after = None;
        loop {
            let rows = batch(db, sealed, after.clone()).await?;
            let Some(last) = rows.last() else { break };
            after = Some(key_value(sealed, last)?);
            for row in &rows {
                let value: Option<String> = row.try_get_by_index(2)?;
                if let Some(value) = value {
                    let key = sealing::sealed_by(&value).unwrap_or("v1").to_owned();
                    *counts.entry(key).or_default() += 1;
                }
            }
        }
    }
    Ok(counts)
}
