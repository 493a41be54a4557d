//! Badge programs: the achievement catalog's rules, the events learning systems send, and
//! stackable pathways, as domain logic with no storage of its own.
//!
//! Owns: award conditions, a small safe expression language over event fields
//! ([`condition`]); reading LMS events, the generic JSON event and 1EdTech Caliper 1.2
//! `GradeEvent` envelopes, and verifying Standard Webhooks signatures ([`inbound`]); award
//! rows from spreadsheets, CSV or JSON Lines, streamed and checked ([`rows`]).
//! May use: `credential` (the OB 3.0 model), `codec`. Used by: `service`, which stores program
//! data and issues the badges.

pub mod condition;
pub mod inbound;
pub mod rows;
