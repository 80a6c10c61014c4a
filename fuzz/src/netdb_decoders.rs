//! Decoder target for NetDB's whole-database snapshot bundle (`NetDbSnapshot::decode`): raw
//! bytes, or a valid header and checksum around fuzzer bytes so the postcard body decoder is
//! reached. Arbitrary bytes give `Ok` or a clear error, never a panic or an allocation larger
//! than the input justifies; an accepted bundle re-encodes to one that decodes to an equal
//! bundle.

use netdb::bundle::BUNDLE_HEADER_LEN;
use netdb::{NetDbSnapshot, BUNDLE_FORMAT_VERSION, BUNDLE_MAGIC};

use crate::alloc_guard::check_allocations;
use crate::input::Input;

/// The `netdb_bundle` target.
pub fn netdb_bundle(data: &[u8]) {
    let mut input = Input::new(data);
    let bytes: Vec<u8> = if input.u8().is_multiple_of(3) {
        input.rest().to_vec()
    } else {
        let body = input.rest();
        let mut out = BUNDLE_MAGIC.to_vec();
        out.extend_from_slice(&BUNDLE_FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&crc32c::crc32c(body).to_le_bytes());
        out.extend_from_slice(body);
        debug_assert_eq!(out.len(), BUNDLE_HEADER_LEN + body.len());
        out
    };
    let decoded =
        check_allocations(&bytes, "NetDbSnapshot::decode", || NetDbSnapshot::decode(&bytes));
    match decoded {
        Ok(bundle) => {
            let again = bundle.encode();
            let back = NetDbSnapshot::decode(&again).expect("decode a re-encoded bundle");
            assert_eq!(back, bundle, "bundle round trip changed it");
            let mut names: Vec<&str> = bundle.models().iter().map(|m| m.name.as_str()).collect();
            let n = names.len();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), n, "a bundle names a model twice");
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
}
