//! Award conditions (written by the condition helper).
