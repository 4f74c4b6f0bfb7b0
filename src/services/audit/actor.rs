//! Who made a change, from where.

use uuid::Uuid;

use crate::auth::UserRecord;
use crate::services::RequestMeta;

/// Who made a change, and from where.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub user_id: Option<Uuid>,
    pub email: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The API key the user acted through, when it was one.
    pub api_key_id: Option<Uuid>,
}

impl Actor {
    /// A signed-in user acting through the API.
    pub fn user(user: &entity::user::Model, meta: &RequestMeta) -> Self {
        Self::person(user.id, &user.email, meta)
    }

    /// [`Self::user`] from the record a reader holds.
    pub fn signed_in(user: &UserRecord, meta: &RequestMeta) -> Self {
        Self::person(user.id, &user.email, meta)
    }

    fn person(id: Uuid, email: &str, meta: &RequestMeta) -> Self {
        Self {
            user_id: Some(id),
            email: Some(email.to_owned()),
            ip: meta.ip.clone(),
            user_agent: meta.user_agent.clone(),
            api_key_id: None,
        }
    }

    /// The same actor acting through the API key `key`, if any.
    pub fn through_key(self, key: Option<Uuid>) -> Self {
        Self {
            api_key_id: key,
            ..self
        }
    }

    /// An operator at the command line of the server.
    pub fn command_line() -> Self {
        Self {
            user_id: None,
            email: None,
            ip: None,
            user_agent: Some("charter (command line)".to_owned()),
            api_key_id: None,
        }
    }

    /// Charter itself, delivering webhooks (it disables an endpoint that keeps failing).
    pub fn delivery() -> Self {
        Self {
            user_agent: Some("charter (webhook delivery)".to_owned()),
            ..Self::default()
        }
    }

    /// The name of the actor in descriptions.
    pub fn name(&self) -> &str {
        self.email.as_deref().unwrap_or("the command line")
    }
}
