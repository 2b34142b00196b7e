//! Needlepoint's web faces over one store: server-rendered pages for people,
//! a JSON API under `/api/v1` described by OpenAPI, and health probes.
//!
//! Every route is declared once in [`routes::all`] with the roles it admits;
//! the router is built from that list, and so is the test that walks every
//! route with every role.

pub mod access;
pub mod api;
mod assets;
pub mod auth;
pub mod csrf;
mod error;
mod pages;
pub use needlepoint_practice::photos;
pub mod routes;
mod view;
pub mod zone_map;

use axum::Router;
use needlepoint_domain::knowledge::KnowledgeBase;
use needlepoint_practice::{Clock, Context};
use needlepoint_store::Store;
use std::net::SocketAddr;
use std::sync::Arc;

/// Settings the web layer needs beyond the store.
#[derive(Debug, Clone, Default)]
pub struct WebConfig {
    /// Mark cookies `Secure` (serve behind HTTPS). Off for plain-HTTP
    /// localhost, where browsers would otherwise drop them.
    pub secure_cookies: bool,
    /// Where photos are kept (`photos/` inside it).
    pub data_dir: std::path::PathBuf,
    /// The online payment provider; none, and online payment is not offered.
    pub payments: Option<Payments>,
}

/// The payment provider, shared by every request.
#[derive(Clone)]
pub struct Payments(pub std::sync::Arc<dyn needlepoint_practice::payments::PaymentProvider>);

impl std::fmt::Debug for Payments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Payments({})", self.0.name())
    }
}

impl WebConfig {
    /// The session cookie's name: `__Host-` prefixed behind HTTPS, so that
    /// no sibling subdomain or plain-HTTP page can set or shadow it.
    pub fn session_cookie(&self) -> &'static str {
        if self.secure_cookies {
            "__Host-np_session"
        } else {
            auth::SESSION_COOKIE
        }
    }

    /// The cookie holding a sign-in halfway (before its second factor).
    pub fn challenge_cookie(&self) -> &'static str {
        if self.secure_cookies {
            "__Host-np_2fa"
        } else {
            "np_2fa"
        }
    }

    /// A patient's session on their own page, prefixed likewise.
    pub fn patient_cookie(&self) -> &'static str {
        if self.secure_cookies {
            "__Host-np_patient"
        } else {
            "np_patient"
        }
    }

    /// The browser's CSRF cookie's name, prefixed likewise.
    pub fn csrf_cookie(&self) -> &'static str {
        if self.secure_cookies {
            "__Host-np_csrf"
        } else {
            csrf::CSRF_COOKIE
        }
    }
}

/// What every handler holds: the services' context (record, knowledge
/// base, clock) and the web layer's own settings.
#[derive(Clone)]
pub struct AppState {
    pub cx: Context,
    pub config: Arc<WebConfig>,
}

impl AppState {
    /// The application on the system clock.
    pub fn new(store: Arc<dyn Store>, kb: KnowledgeBase, config: WebConfig) -> Self {
        Self::with_clock(store, kb, config, Clock::system())
    }

    pub fn with_clock(
        store: Arc<dyn Store>,
        kb: KnowledgeBase,
        config: WebConfig,
        clock: Clock,
    ) -> Self {
        AppState {
            cx: Context::new(store, kb, clock),
            config: Arc::new(config),
        }
    }
}

/// Handlers reach the record and the knowledge base through the context:
/// `st.store`, `st.kb`, `st.now()`.
impl std::ops::Deref for AppState {
    type Target = Context;
    fn deref(&self) -> &Context {
        &self.cx
    }
}

/// The whole application as one router.
pub fn app(state: AppState) -> Router {
    routes::router(state.clone())
        .fallback(error::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            csrf::protect,
        ))
        .layer(axum::middleware::from_fn(error::api_errors_as_json))
        .layer(axum::middleware::from_fn_with_state(
            state,
            view::security_headers,
        ))
}

/// Serves the application on a bound listener until the process is stopped.
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> std::io::Result<()> {
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
