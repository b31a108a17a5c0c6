//! End-to-end tests of idpool through the official AWS SDK for Rust: one binary, one server per test (spec §1-§4, design.md "Tests").

mod helpers;

mod auth;
mod durability;
mod iam_providers;
mod iam_roles;
mod data_plane_errors;
mod pools;
mod principal_tags;
mod roles_mappings;
mod tags;
