//! Peak server memory while eight 50-megapixel photos are uploaded at once
//! (issue #13: under 400 MB). The server runs in a child process of this
//! benchmark, so only its memory is measured: its resident set (`VmRSS`)
//! is sampled during the uploads and its high-water mark (`VmHWM`) read at
//! the end, from `/proc`. On SQLite, then on PostgreSQL.
//!
//! Run: cargo bench -p needlepoint-web --bench photo_memory
//! (NEEDLEPOINT_BENCH_BACKENDS=sqlite for one database only). Exits 1 when
//! the peak is 400 MB or more, or an upload is not kept.

// The test suite's own fixtures (a clinic with a consented plan and a booked
// session), so the benchmark charts exactly what the tests chart.
#![allow(dead_code, unused_imports)]
#[path = "../tests/it"]
mod it {
    pub mod appointments;
    pub mod browser;
    pub mod charting;
    pub mod common;
}
// Where the fixtures look for each other.
use it::{appointments, browser, charting, common};

use needlepoint_domain::Role;
use needlepoint_store::testing::TestBackend;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

const UPLOADS: usize = 8;
/// 8,660 × 5,773 = 49,994,180 pixels: just under the 50-megapixel limit.
const WIDTH: u32 = 8_660;
const HEIGHT: u32 = 5_773;
const LIMIT_MB: f64 = 400.0;
const CHILD: &str = "NEEDLEPOINT_PHOTO_BENCH_SERVER";

fn main() {
    if let Ok(backend) = std::env::var(CHILD) {
        return serve_child(&backend);
    }
    let backends =
        std::env::var("NEEDLEPOINT_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite postgres".into());
    println!("generating {UPLOADS} photos of {WIDTH} × {HEIGHT} pixels");
    let photos: Vec<Vec<u8>> = (0..UPLOADS).map(photo).collect();
    let mb = |b: usize| b as f64 / 1e6;
    println!(
        "photo files: {:.1}–{:.1} MB",
        mb(photos.iter().map(Vec::len).min().unwrap()),
        mb(photos.iter().map(Vec::len).max().unwrap())
    );
    let mut ok = true;
    for backend in backends.split_whitespace() {
        ok &= measure(backend, &photos);
    }
    if !ok {
        std::process::exit(1);
    }
}

/// A JPEG of a photo-like picture: smooth light with a little grain, each
/// one different (the server keeps photos by content).
fn photo(n: usize) -> Vec<u8> {
    let mut seed = 0x9E37_79B9_7F4A_7C15u64 ^ n as u64;
    let img = image::RgbImage::from_fn(WIDTH, HEIGHT, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let grain = (seed % 50) as u32;
        image::Rgb([
            (150 + x * 60 / WIDTH + grain) as u8,
            (110 + y * 50 / HEIGHT + grain) as u8,
            (90 + (x + y) * 30 / (WIDTH + HEIGHT) + grain + n as u32) as u8,
        ])
    });
    let mut out = vec![];
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(&img)
        .unwrap();
    out
}

/// The server under measurement: the test clinic with a chart open, then
/// one line for the parent (address, chart, a clinician's session) and
/// serving until killed.
fn serve_child(backend: &str) {
    let backend = match backend {
        "postgres" => TestBackend::Postgres,
        _ => TestBackend::Sqlite,
    };
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let f = charting::fixture(backend).await;
            let mut nurse = f.c.client_as(Role::Clinician).await;
            let chart = charting::open_chart(&mut nurse, f.appointment).await;
            let session = nurse
                .cookies
                .iter()
                .find(|(k, _)| k == "np_session")
                .unwrap()
                .1
                .clone();
            println!("{} {chart} {session}", f.c.app.base);
            std::io::stdout().flush().unwrap();
            std::future::pending::<()>().await;
        });
}

fn status_kb(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Uploads the photos at once to a fresh server on `backend`; whether the
/// peak stayed under the limit and every photo was kept.
fn measure(backend: &str, photos: &[Vec<u8>]) -> bool {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env(CHILD, backend)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let parts: Vec<String> = line.split_whitespace().map(str::to_string).collect();
    let (base, chart, session) = (
        parts[0].clone(),
        parts[1].parse::<i64>().unwrap(),
        parts[2].clone(),
    );

    let before = status_kb(pid, "VmRSS:");
    let peak = Arc::new(AtomicU64::new(before));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(status_kb(pid, "VmRSS:"), Ordering::Relaxed);
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        })
    };
    let started = Instant::now();
    let results: Vec<(u16, f64)> = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let uploads: Vec<_> = photos
                .iter()
                .map(|bytes| {
                    let mut c = common::Client::new(&base);
                    c.cookies.push(("np_session".into(), session.clone()));
                    let bytes = bytes.clone();
                    tokio::spawn(async move {
                        let t = Instant::now();
                        let r = c.upload_photo(chart, "front", &bytes).await;
                        (r.status().as_u16(), t.elapsed().as_secs_f64())
                    })
                })
                .collect();
            let mut out = vec![];
            for u in uploads {
                out.push(u.await.unwrap());
            }
            out
        });
    let wall = started.elapsed().as_secs_f64();
    done.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    let hwm = status_kb(pid, "VmHWM:");
    child.kill().ok();
    child.wait().ok();

    let mb = |kb: u64| kb as f64 / 1024.0;
    let peak_mb = mb(hwm.max(peak.load(Ordering::Relaxed)));
    let kept = results.iter().filter(|(s, _)| *s == 303).count();
    let slowest = results.iter().map(|(_, t)| *t).fold(0.0, f64::max);
    println!(
        "{backend:<9} server RSS before {:.0} MB, peak {peak_mb:.0} MB (VmHWM) · {kept}/{UPLOADS} photos kept · all done in {wall:.1} s, slowest {slowest:.1} s",
        mb(before),
    );
    let ok = peak_mb < LIMIT_MB && kept == UPLOADS;
    if !ok {
        println!(
            "{backend:<9} FAIL: the peak must stay under {LIMIT_MB:.0} MB and every photo be kept: {results:?}"
        );
    }
    ok
}
