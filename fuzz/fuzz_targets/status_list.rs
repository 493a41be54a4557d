//! `status::decode_list` (the Bitstring Status List `encodedList`): the input as the encoded
//! text, and as the GZIP bytes behind a valid multibase base64url wrapper.
#![no_main]

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use laurel::status::{decode_list, read_entry, MAX_LIST_BYTES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut decoded = Vec::new();
    if let Ok(text) = std::str::from_utf8(data) {
        decoded.push(decode_list(text));
    }
    decoded.push(decode_list(&format!("u{}", B64URL.encode(data))));
    for bits in decoded.into_iter().flatten() {
        assert!(bits.len() <= MAX_LIST_BYTES);
        for size in [1, 2, 8, 32] {
            let _ = read_entry(&bits, bits.len() * 8 / size, size);
            let _ = read_entry(&bits, usize::MAX / size, size);
        }
    }
});
