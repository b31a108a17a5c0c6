//! End-to-end tests of idpool through the official AWS SDK for Rust: one binary, one server per test (spec §1-§4, design.md "Tests").

mod fixtures;
mod helpers;

mod auth;
mod basic_flow;
mod credentials;
mod data_plane_errors;
mod developer;
mod durability;
mod iam_providers;
mod iam_roles;
mod identities;
mod instances;
mod linking;
mod pools;
mod principal_tags;
mod roles_mappings;
mod session_auth;
mod social_logins;
mod sts;
mod tags;
