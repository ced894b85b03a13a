//! The GraphQL schema: queries read, mutations are commands, subscriptions
//! push. Resolvers translate; rules live in `domain`.

mod admin;
mod documents;
pub mod error;
mod events;
pub mod limits;
mod order;
pub mod paging;
pub mod responses;
mod sales;
pub mod scalars;
mod subscriptions;
mod text_guard;
pub mod types;

use std::any::TypeId;
use std::borrow::Cow;
use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextRequest};
use async_graphql::{
    Context, Data, Executor, MergedObject, MergedSubscription, Request, Response, SDLExportOptions,
    Schema, SchemaEnv, ServerResult, ValidationMode, Value,
};
use futures::future;
use futures::stream::{self, BoxStream, StreamExt};

use crate::auth::{Principal, Role};
use crate::commands::CommandContext;
use crate::projections::ReadModels;
use crate::store::EventStore;
pub use error::{ApiError, ErrorCode, ensure_codes};
use limits::Limits;
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

/// async-graphql's schema of these roots.
type RootSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// The schema as every transport executes it (HTTP, both WebSocket
/// protocols, the console): the request guards run first, then
/// async-graphql. The inner schemas are private, so nothing executes around
/// the guards.
///
/// The guards are not async-graphql extensions on purpose: with any
/// extension installed, async-graphql sends every field of every response
/// through the extension chain, with a registry lookup of the field's type
/// per field.
#[derive(Clone)]
pub struct AppSchema {
    /// Validates every request in full (`ValidationMode::Strict`).
    schema: RootSchema,
    /// The same schema in `ValidationMode::Fast`, for a request whose
    /// operation passed the full validation before and whose variables
    /// cannot change that (documents.rs); `None` when the schema's
    /// validation depends on more than that.
    revalidated: Option<RootSchema>,
    guards: Arc<Guards>,
}

struct Guards {
    /// The schema's environment, for its registry (the shape limits look
    /// fields up in it).
    env: SchemaEnv,
    documents: documents::Documents,
    responses: responses::Responses,
}

impl AppSchema {
    fn new(
        builder: impl Fn() -> async_graphql::SchemaBuilder<QueryRoot, MutationRoot, SubscriptionRoot>,
        response_cache_bytes: usize,
    ) -> Self {
        let env = schema_env();
        let revalidated = documents::reusable(&env.registry)
            .then(|| builder().validation_mode(ValidationMode::Fast).finish());
        AppSchema {
            schema: builder().finish(),
            revalidated,
            guards: Arc::new(Guards {
                env,
                documents: documents::Documents::default(),
                responses: responses::Responses::new(response_cache_bytes),
            }),
        }
    }

    /// The guards, in order: NUL characters anywhere (text_guard.rs), then
    /// the fragment-expanded shape limits (limits.rs) of the document,
    /// parsed once (documents.rs), which is returned when it is kept. The
    /// limits are the request's, else the session's, else the defaults.
    fn guard(
        &self,
        mut request: Request,
        session: Option<&Data>,
    ) -> ServerResult<(Request, Option<Arc<documents::Document>>)> {
        text_guard::refuse_nul(&request)?;
        let limits = [Some(&request.data), session]
            .into_iter()
            .flatten()
            .find_map(|data| data.get(&TypeId::of::<Limits>())?.downcast_ref::<Limits>())
            .cloned()
            .unwrap_or_default();
        let document = self.guards.documents.parse(&mut request);
        limits::check_request(
            &self.guards.env.registry,
            &mut request,
            document.as_deref(),
            &limits,
        )?;
        Ok((request, document))
    }

    /// The schema's SDL with these options.
    pub fn sdl_with_options(&self, options: SDLExportOptions) -> String {
        self.schema.sdl_with_options(options)
    }

    /// Executes a guarded request, validating it in full unless its
    /// operation passed validation before with variables that cannot
    /// change that (documents.rs).
    async fn validated_execute(
        &self,
        request: Request,
        document: Option<Arc<documents::Document>>,
    ) -> Response {
        let operation = request.operation_name.as_deref();
        let reusable = document.filter(|d| {
            self.revalidated.is_some()
                && documents::variables_surely_valid(&d.parsed, operation, &request.variables)
        });
        let validation = |how: &'static str| {
            metrics::counter!("chronicle_graphql_validations_total", "validation" => how)
                .increment(1);
        };
        match (reusable, &self.revalidated) {
            (Some(document), Some(revalidated)) if document.validated(operation) => {
                validation("reused");
                revalidated.execute(request).await
            }
            (reusable, _) => {
                validation("full");
                let operation = request.operation_name.clone();
                let response = self.schema.execute(request).await;
                // A failed validation answers errors and no data.
                if let Some(document) = reusable
                    && (response.errors.is_empty() || response.data != Value::Null)
                {
                    document.mark_validated(operation.as_deref());
                }
                response
            }
        }
    }
}

impl Executor for AppSchema {
    async fn execute(&self, request: Request) -> Response {
        let (mut request, document) = match self.guard(request, None) {
            Ok(guarded) => guarded,
            Err(error) => return Response::from_errors(vec![error]),
        };
        // A read of orders the read cache answers: the kept response while
        // its rows are still the ones served (responses.rs).
        let responses = &self.guards.responses;
        let read = self.schema.data::<ReadModels>();
        let keep = match (&document, read) {
            (Some(document), Some(read)) => match responses.keepable(&document.parsed, &request) {
                Some(key) => match responses.answer(read, &key) {
                    Some(response) => return response,
                    None => Some((read, responses.record(key, &mut request))),
                },
                None => None,
            },
            _ => None,
        };
        let response = self.validated_execute(request, document).await;
        if let Some((read, keepable)) = keep {
            responses.keep(read, keepable, &response);
        }
        response
    }

    fn execute_stream(
        &self,
        request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        match self.guard(request, session_data.as_deref()) {
            Ok((request, _)) => Executor::execute_stream(&self.schema, request, session_data),
            Err(error) => stream::once(future::ready(Response::from_errors(vec![error]))).boxed(),
        }
    }
}

/// The registry of a schema of these roots. async-graphql shows it only to
/// extensions, so it is read once from a twin schema (the same types make
/// the same registry) through an extension that keeps it; the schema that
/// serves has no extension (see [`AppSchema`]).
fn schema_env() -> SchemaEnv {
    struct Keep(Arc<std::sync::Mutex<Option<SchemaEnv>>>);
    struct Kept(Arc<std::sync::Mutex<Option<SchemaEnv>>>);
    impl ExtensionFactory for Keep {
        fn create(&self) -> Arc<dyn Extension> {
            Arc::new(Kept(self.0.clone()))
        }
    }
    #[async_trait::async_trait]
    impl Extension for Kept {
        async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
            *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(ctx.schema_env.clone());
            next.run(ctx).await
        }
    }
    let slot = Arc::new(std::sync::Mutex::new(None));
    let twin = builder().extension(Keep(slot.clone())).finish();
    // `{ __typename }` runs no resolver and never waits.
    futures::executor::block_on(twin.execute("{ __typename }"));
    let env = slot.lock().unwrap_or_else(|p| p.into_inner()).take();
    env.expect("the request hook runs for every request")
}

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

/// The request's context (borrowed: resolvers only read it); a schema
/// executed without one (tests) runs as the open server's admin.
pub(crate) fn request_context<'a>(ctx: &Context<'a>) -> Cow<'a, RequestContext> {
    match ctx.data_opt::<RequestContext>() {
        Some(rc) => Cow::Borrowed(rc),
        None => Cow::Owned(RequestContext {
            principal: Principal::open_admin(),
            correlation_id: uuid::Uuid::new_v4().to_string(),
            client: None,
        }),
    }
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
}

/// Builds the schema over the given services.
/// Builds the schema over the given services, keeping at most
/// `response_cache_bytes` of whole responses (responses.rs).
pub fn build_schema(read: ReadModels, response_cache_bytes: usize) -> AppSchema {
    AppSchema::new(|| builder().data(read.clone()), response_cache_bytes)
}

/// The committed SDL, without any service behind it (`chronicle schema`).
pub fn sdl_of_default_schema() -> String {
    sdl(&AppSchema::new(builder, 0))
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
