//! Operating the read side: rebuilding a projection without downtime and
//! watching its progress.

use std::time::Duration;

use async_graphql::{Context, Object, Result, Subscription};
use futures::Stream;

use super::error::ApiError;
use super::read::{ProjectionStatus, RebuildJob, status_of};
use super::{read_models, request_context};
use crate::auth::Role;
use crate::projections::{EngineConfig, rebuild};

/// Batch size of rebuilds: larger than live batches, for throughput.
const REBUILD_BATCH: u64 = 1_000;

#[derive(Default)]
pub struct AdminMutation;

#[Object]
impl AdminMutation {
    /// Rebuilds a projection's read model from the whole log, beside the
    /// live one; queries keep answering from the live one until the new one
    /// has caught up and replaces it in one step. Admins only. If a rebuild
    /// of that projection is already running here, returns it.
    async fn rebuild_projection(&self, ctx: &Context<'_>, name: String) -> Result<RebuildJob> {
        match request_context(ctx).user()? {
            (_, Role::Admin, _) => {}
            _ => return Err(ApiError::forbidden("rebuilding a projection is for admins").into()),
        }
        let read = read_models(ctx).clone();
        let config = EngineConfig {
            batch_size: REBUILD_BATCH,
            ..EngineConfig::default()
        };
        let job = match rebuild::prepare(&read, &name, &config).await {
            Err(rebuild::RebuildError::UnknownProjection(n)) => {
                return Err(ApiError::validation(format!("unknown projection {n}")).into());
            }
            Err(e) => return Err(ApiError::internal(&e).into()),
            Ok(Err(running)) => running,
            Ok(Ok(job)) => {
                let status = job.status().clone();
                tokio::spawn(job.run(|_| {}));
                status
            }
        };
        let (lag, _) = read
            .store
            .lag_after(job.position)
            .await
            .map_err(ApiError::from)?;
        Ok(RebuildJob::from_status(&job, lag, 0.0))
    }
}

/// What makes a projection status worth sending again: generation,
/// position, the rebuild's generation and position, failing or not.
type StatusKey = (i32, String, Option<(i32, String)>, bool);

#[derive(Default)]
pub struct AdminSubscription;

#[Subscription]
impl AdminSubscription {
    /// A projection's status (lag, state, rebuild progress) whenever it
    /// changes; checked twice a second, so it also sees rebuilds run by
    /// another process.
    async fn projection_status(
        &self,
        ctx: &Context<'_>,
        name: String,
    ) -> Result<impl Stream<Item = Result<ProjectionStatus>>> {
        request_context(ctx).require_staff()?;
        let read = read_models(ctx).clone();
        if read.projection(&name).is_none() {
            return Err(ApiError::validation(format!("unknown projection {name}")).into());
        }
        Ok(async_stream::stream! {
            let mut last: Option<StatusKey> = None;
            loop {
                let status = async {
                    let generation = read.live_generation(&name).await.map_err(|e| ApiError::internal(&e))?;
                    let checkpoint = read
                        .statuses()
                        .await
                        .map_err(|e| ApiError::internal(&e))?
                        .into_iter()
                        .find(|c| c.name == name && c.generation == generation)
                        .ok_or_else(|| ApiError::not_found(format!("projection {name}")))?;
                    let head = read.store.head_position().await.map_err(ApiError::from)?;
                    status_of(&read, &checkpoint, head).await
                }
                .await;
                match status {
                    Ok(s) => {
                        let key = (
                            s.generation,
                            s.position.clone(),
                            s.rebuild.as_ref().map(|r| (r.generation, r.position.clone())),
                            s.last_error.is_some(),
                        );
                        if last.as_ref() != Some(&key) {
                            last = Some(key);
                            yield Ok(s);
                        }
                    }
                    Err(e) => {
                        yield Err(e.into());
                        return;
                    }
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        })
    }
}
