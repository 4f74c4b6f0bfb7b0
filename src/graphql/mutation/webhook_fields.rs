//! Webhook endpoints and their deliveries.

use chrono::{DateTime, Utc};

use super::*;
use crate::graphql::types::{IssuedWebhookEndpoint, WebhookDelivery, WebhookEndpoint};
use crate::services::organization::webhooks::{self, EndpointSpec};

#[derive(Default)]
pub struct WebhookMutations;

#[Object(guard = "Declared::ROOT")]
impl WebhookMutations {
    /// Creates a webhook endpoint: the organization's audit events that `events` selects are
    /// delivered to `url`, signed per Standard Webhooks 1.0. The secret is in the answer, this
    /// once.
    #[graphql(directive = Requires::apply(need(require::WEBHOOK_MANAGE)))]
    async fn create_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: CreateWebhookEndpointInput,
    ) -> ApiResult<IssuedWebhookEndpoint> {
        let org = NodeId::organization("organizationId", &input.organization_id)?;
        let change = Gate::root("organization", org).change(ctx).await?;
        let spec = EndpointSpec {
            url: Some(input.url),
            events: Some(input.events),
            description: Some(input.description),
            enabled: None,
        };
        Ok(IssuedWebhookEndpoint(
            webhooks::create(ctx.state(), &change, spec).await?,
        ))
    }

    /// Changes an endpoint; what is left out is kept. Disabling it gives up its pending
    /// deliveries; enabling it again delivers the events recorded from then on.
    #[graphql(directive = Requires::apply(need(require::WEBHOOK_MANAGE)))]
    async fn update_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: UpdateWebhookEndpointInput,
    ) -> ApiResult<WebhookEndpoint> {
        let (id, change) = endpoint_change(ctx, "id", &input.id).await?;
        let spec = EndpointSpec {
            url: input.url,
            events: input.events,
            description: match input.description {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(text) => Some(Some(text)),
            },
            enabled: input.enabled,
        };
        Ok(WebhookEndpoint(
            webhooks::update(ctx.state(), &change, id, spec).await?,
        ))
    }

    /// Deletes an endpoint with its deliveries.
    #[graphql(directive = Requires::apply(need(require::WEBHOOK_MANAGE)))]
    async fn delete_webhook_endpoint(&self, ctx: &Context<'_>, id: ID) -> ApiResult<bool> {
        let (id, change) = endpoint_change(ctx, "id", &id).await?;
        webhooks::delete(&change, id).await?;
        Ok(true)
    }

    /// Gives an endpoint a new secret (in the answer, this once); the old one keeps signing
    /// beside it for 24 hours, so the receiver can switch without downtime.
    #[graphql(directive = Requires::apply(need(require::WEBHOOK_MANAGE)))]
    async fn rotate_webhook_secret(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> ApiResult<IssuedWebhookEndpoint> {
        let (id, change) = endpoint_change(ctx, "id", &id).await?;
        Ok(IssuedWebhookEndpoint(
            webhooks::rotate_secret(ctx.state(), &change, id).await?,
        ))
    }

    /// Queues a delivery for another attempt now (a delivered one is sent again, under the
    /// same `webhook-id`).
    #[graphql(directive = Requires::apply(need(require::WEBHOOK_MANAGE)))]
    async fn retry_webhook_delivery(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> ApiResult<WebhookDelivery> {
        let delivery = NodeId::webhook_delivery("id", &id)?;
        let org = webhooks::delivery_owner(ctx.state(), delivery)
            .await?
            .ok_or_else(|| crate::error::ApiError::not_found("webhook delivery"))?;
        let change = Gate::root("webhook delivery", org).change(ctx).await?;
        Ok(WebhookDelivery(
            webhooks::retry(ctx.state(), &change, delivery).await?,
        ))
    }

    /// Queues again the events of the log recorded at or after `from` that the endpoint
    /// subscribes to (at most 10,000); returns how many.
    #[graphql(directive = Requires::apply(need(require::WEBHOOK_MANAGE)))]
    async fn replay_webhook_events(
        &self,
        ctx: &Context<'_>,
        endpoint_id: ID,
        from: DateTime<Utc>,
    ) -> ApiResult<i32> {
        let (id, change) = endpoint_change(ctx, "endpointId", &endpoint_id).await?;
        let queued = webhooks::replay(ctx.state(), &change, id, from).await?;
        Ok(i32::try_from(queued).unwrap_or(i32::MAX))
    }

    /// Queues a `webhook.test` message for the endpoint, whatever it subscribes to.
    #[graphql(directive = Requires::apply(need(require::WEBHOOK_MANAGE)))]
    async fn send_test_webhook(
        &self,
        ctx: &Context<'_>,
        endpoint_id: ID,
    ) -> ApiResult<WebhookDelivery> {
        let (id, change) = endpoint_change(ctx, "endpointId", &endpoint_id).await?;
        Ok(WebhookDelivery(
            webhooks::send_test(ctx.state(), &change, id).await?,
        ))
    }
}

/// The endpoint `id` (given in `field`) and the capability to change its organization; a
/// foreign or missing id is NOT_FOUND alike.
async fn endpoint_change(
    ctx: &Context<'_>,
    field: &'static str,
    id: &ID,
) -> ApiResult<(uuid::Uuid, OrgChange)> {
    let endpoint = NodeId::webhook_endpoint(field, id)?;
    let org = webhooks::endpoint_owner(ctx.state(), endpoint)
        .await?
        .ok_or_else(|| crate::error::ApiError::not_found("webhook endpoint"))?;
    let change = Gate::root("webhook endpoint", org).change(ctx).await?;
    Ok((endpoint, change))
}

#[derive(InputObject)]
pub struct CreateWebhookEndpointInput {
    pub organization_id: ID,
    /// `https://`, at most 2,048 characters, no user name or password; its host must resolve
    /// to a public address.
    pub url: String,
    /// Event types (`member.added`), prefixes (`member.*`) or `*`; see
    /// `permissionCatalog.webhookEventTypes`.
    pub events: Vec<String>,
    /// At most 1,000 characters.
    pub description: Option<String>,
}

#[derive(InputObject)]
pub struct UpdateWebhookEndpointInput {
    pub id: ID,
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    /// A new description; null clears it, leaving it out keeps it.
    pub description: MaybeUndefined<String>,
    pub enabled: Option<bool>,
}
