//! LMS events and webhook signatures (written by the inbound helper).
