//! The GraphQL schema: queries read, mutations are commands, subscriptions
//! push. Resolvers translate; rules live in `domain`.

mod admin;
pub mod error;
mod events;
pub mod limits;
mod order;
pub mod paging;
mod sales;
pub mod scalars;
mod subscriptions;
mod text_guard;
pub mod types;

use async_graphql::{Context, MergedObject, MergedSubscription, SDLExportOptions, Schema};

use crate::auth::{Principal, Role};
use crate::commands::CommandContext;
use crate::projections::ReadModels;
use crate::store::EventStore;
pub use error::{ApiError, ErrorCode, ensure_codes};
pub(crate) use subscriptions::{Parked, Parking};
use types::CommandOptions;

/// Deepest query accepted; guards against abusive nesting.
const MAX_DEPTH: usize = 16;
/// Most complex query accepted.
const MAX_COMPLEXITY: usize = 5_000;

/// Every query: one part per module.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(
    order::OrderQuery,
    sales::SalesQuery,
    admin::AdminQuery,
    events::EventsQuery,
);

/// Every mutation: the commands of each aggregate, and operations.
#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(order::OrderMutation, admin::AdminMutation);

/// Every subscription.
#[derive(MergedSubscription, Default)]
#[graphql(name = "Subscription")]
pub struct SubscriptionRoot(
    order::OrderSubscription,
    subscriptions::ProjectionSubscription,
    events::EventsSubscription,
    admin::AdminSubscription,
);

/// The schema type.
pub type AppSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// Per-request facts, put into every request by the HTTP layer.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// Who is calling.
    pub principal: Principal,
    /// The request's correlation id (stored in event metadata).
    pub correlation_id: String,
    /// The user agent.
    pub client: Option<String>,
}

impl RequestContext {
    /// The caller must be authenticated.
    pub fn user(&self) -> Result<(&str, Role, Option<&str>), ApiError> {
        match &self.principal {
            Principal::Anonymous => Err(ApiError::unauthenticated(
                "this operation needs an Authorization: Bearer token",
            )),
            Principal::User {
                user_id,
                role,
                customer_id,
            } => Ok((user_id, *role, customer_id.as_deref())),
        }
    }

    /// Staff and admins only (customers are FORBIDDEN).
    pub fn require_staff(&self) -> Result<(), ApiError> {
        match self.user()? {
            (_, Role::Customer, _) => Err(ApiError::forbidden("staff or admin only")),
            _ => Ok(()),
        }
    }

    /// Customers may only touch their own orders; staff and admins any.
    pub fn require_customer_access(&self, customer_id: &str) -> Result<(), ApiError> {
        match self.user()? {
            (_, Role::Customer, own) if own != Some(customer_id) => Err(ApiError::forbidden(
                "customers may only access their own orders",
            )),
            _ => Ok(()),
        }
    }

    /// Whether the caller may see an order of `customer_id`. Customers who
    /// may not are answered exactly as if the order did not exist, so ids
    /// are no oracle.
    pub fn sees_customer(&self, customer_id: &str) -> Result<bool, ApiError> {
        Ok(match self.user()? {
            (_, Role::Customer, own) => own == Some(customer_id),
            _ => true,
        })
    }

    /// Builds the metadata context of a command (the caller must be
    /// authenticated; the options are validated).
    pub fn command(
        &self,
        options: &CommandOptions,
        reason: Option<String>,
    ) -> Result<CommandContext, ApiError> {
        let (user_id, _, _) = self.user()?;
        let command_id = options.validate()?;
        Ok(CommandContext {
            user_id: Some(user_id.to_owned()),
            correlation_id: Some(self.correlation_id.clone()),
            command_id,
            scope: Some(user_id.to_owned()),
            expected_version: options.expected_version,
            reason,
            client: self.client.clone(),
        })
    }
}

/// The request's context; a schema executed without one (tests) runs as
/// the open server's admin.
pub(crate) fn request_context(ctx: &Context<'_>) -> RequestContext {
    ctx.data_opt::<RequestContext>()
        .cloned()
        .unwrap_or_else(|| RequestContext {
            principal: Principal::open_admin(),
            correlation_id: uuid::Uuid::new_v4().to_string(),
            client: None,
        })
}

pub(crate) fn store<'a>(ctx: &Context<'a>) -> &'a EventStore {
    &ctx.data_unchecked::<ReadModels>().store
}

pub(crate) fn read_models<'a>(ctx: &Context<'a>) -> &'a ReadModels {
    ctx.data_unchecked::<ReadModels>()
}

fn builder() -> async_graphql::SchemaBuilder<QueryRoot, MutationRoot, SubscriptionRoot> {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot::default(),
    )
    .limit_depth(MAX_DEPTH)
    .limit_complexity(MAX_COMPLEXITY)
    // NULs refused in every request (text_guard.rs), then the
    // fragment-expanded shape limits, before validation (limits.rs).
    .extension(text_guard::RefuseNul)
    .extension(limits::LimitsExtension::default())
}

/// Builds the schema over the given services.
pub fn build_schema(read: ReadModels) -> AppSchema {
    builder().data(read).finish()
}

/// The committed SDL, without any service behind it (`chronicle schema`).
pub fn sdl_of_default_schema() -> String {
    sdl(&builder().finish())
}

/// The SDL in its committed form (sorted), as `chronicle schema` prints it.
pub fn sdl(schema: &AppSchema) -> String {
    schema.sdl_with_options(
        SDLExportOptions::new()
            .sorted_fields()
            .sorted_arguments()
            .sorted_enum_items(),
    )
}
