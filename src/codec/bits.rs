//! The big-endian bitstring of a status list: bit 0 is the most significant bit of byte 0.

/// Reads `size` bits starting at entry `index` (bit 0 is the most significant bit of byte 0).
pub fn read_entry(bits: &[u8], index: usize, size: usize) -> Option<u64> {
    let start = index.checked_mul(size)?;
    if start.checked_add(size)? > bits.len() * 8 {
        return None;
    }
    let mut value = 0u64;
    for position in start..start + size {
        let bit = (bits[position / 8] >> (7 - position % 8)) & 1;
        value = (value << 1) | bit as u64;
    }
    Some(value)
}

/// Sets or clears one bit.
pub fn write_bit(bits: &mut [u8], position: usize, value: bool) {
    let mask = 0x80u8 >> (position % 8);
    if value {
        bits[position / 8] |= mask;
    } else {
        bits[position / 8] &= !mask;
    }
}
