//! CRC-32C (Castagnoli): the checksum of every frame, index record, index file, manifest, log
//! header and cold object.
//!
//! Backed by `crc-fast`, which picks at run time the widest carry-less-multiply folding the CPU
//! has (AVX-512 VPCLMULQDQ, PCLMULQDQ) for long buffers and the CRC32 instruction for short
//! ones. Measured against the `crc32c` crate on this machine (docs/BENCHMARKS.md, "Checksums"):
//! 2.4x on a 4 KiB frame, 1.5-2x on a 100-byte one. The values are the standard CRC-32C, so
//! files written before the switch read the same.

use crc_fast::{CrcAlgorithm, Digest};

/// The CRC-32C of `data`.
#[inline]
pub fn crc32c(data: &[u8]) -> u32 {
    crc_fast::crc32_iscsi(data)
}

/// The CRC-32C of the bytes whose CRC-32C is `crc` followed by `data`.
#[inline]
pub fn crc32c_append(crc: u32, data: &[u8]) -> u32 {
    // The running state is the finished CRC with its final inversion undone.
    let mut digest = Digest::new_with_init_state(CrcAlgorithm::Crc32Iscsi, u64::from(!crc));
    digest.update(data);
    digest.finalize() as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn check_value() {
        // The catalogue's check value of CRC-32C.
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(b""), 0);
        assert_eq!(crc32c_append(0, b""), 0);
    }

    proptest! {
        // The `crc32c` crate (the previous implementation) is the oracle: whole buffers, and
        // any split of one continued with `crc32c_append`, at every length a frame can have.
        #[test]
        fn matches_the_reference_implementation(
            data in proptest::collection::vec(any::<u8>(), 0..9000),
            split in any::<prop::sample::Index>(),
        ) {
            let at = split.index(data.len() + 1);
            let reference = ::crc32c::crc32c(&data);
            prop_assert_eq!(crc32c(&data), reference);
            prop_assert_eq!(crc32c_append(crc32c(&data[..at]), &data[at..]), reference);
            prop_assert_eq!(
                crc32c_append(0x1234_5678, &data),
                ::crc32c::crc32c_append(0x1234_5678, &data)
            );
        }
    }
}
