//! `baking::extract` / `baking::detect` on untrusted images (PNG iTXt chunks, SVG markup).
#![no_main]

use laurel::credential::baking::{detect, extract, MAX_CREDENTIAL_BYTES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let format = detect(data);
    if let Ok(extracted) = extract(data) {
        assert_eq!(Some(extracted.format), format);
        assert!(extracted.credential.len() <= MAX_CREDENTIAL_BYTES);
    }
});
