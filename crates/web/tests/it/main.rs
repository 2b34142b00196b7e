//! Tests against the real server on a free port, with a real database
//! (SQLite and PostgreSQL) and, for the pages, a real headless Chromium.
//! One test binary, so it links once.

mod access;
mod after_session;
mod api;
mod appointments;
mod browser;
mod browser_after;
mod browser_money;
mod calendar;
mod charting;
mod common;
mod delivery;
mod demo_day;
mod fuzz;
mod money;
mod openapi;
mod pages;
mod patient_page;
mod plans;
mod screening;
mod security;
mod two_factor;
