//! Static files, embedded in the binary: nothing is fetched from elsewhere.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../assets/app.css"),
    },
    Asset {
        name: "print.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../assets/print.css"),
    },
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/app.js"),
    },
    Asset {
        name: "htmx.min.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/vendor/htmx-2.0.11.min.js"),
    },
    Asset {
        name: "logo.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("../assets/logo.svg"),
    },
    Asset {
        name: "photo-guide.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("../assets/photo-guide.svg"),
    },
];

pub async fn serve_asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|a| a.name == name) {
        Some(a) => (
            [
                (header::CONTENT_TYPE, a.content_type),
                // Assets change only with the binary; an hour keeps pages quick
                // without serving stale files for long after an upgrade.
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            a.body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such asset").into_response(),
    }
}
