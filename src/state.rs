//! What every request handler can reach: the configuration and the registry's pool.

use std::sync::Arc;

use crate::config::Config;
use crate::db::{Pool, PooledConnection};
use crate::error::ApiError;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub pool: Pool,
}

impl AppState {
    /// Runs blocking registry work on actix's blocking threads, off the async executor.
    /// Pool and database failures are logged here (without personal data) and become 503.
    pub async fn with_db<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut PooledConnection) -> Result<T, crate::db::DbError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        let outcome = actix_web::web::block(move || {
            let mut conn = pool.get()?;
            work(&mut conn)
        })
        .await;
        match outcome {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => {
                tracing::error!(error = %error, "registry unavailable");
                Err(ApiError::unavailable())
            }
            Err(error) => {
                tracing::error!(error = %error, "blocking task failed");
                Err(ApiError::unavailable())
            }
        }
    }
}
