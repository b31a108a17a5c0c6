//! Everything on the wire: awsJson1_1 and awsQuery codecs, SigV4, input validation (spec §1, §5).

pub mod error;
pub mod json;
pub mod query;
pub mod sigv4;
pub mod validate;
pub mod xml;

pub use error::{Fault, WireError};
