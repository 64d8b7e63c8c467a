//! Order-preserving integer keys for floats: `a < b` ⇔ `key(a) < key(b)` for non-NaN values
//! (with `-0.0 < +0.0`). Sorting by these keys is faster than comparing floats and is total.

/// The sortable key of an `f64`.
#[inline]
pub fn f64_key(x: f64) -> u64 {
    let bits = x.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_preserve_order() {
        let mut xs = vec![
            f64::NEG_INFINITY,
            -1e300,
            -2.5,
            -1.0,
            -1e-310,
            -0.0,
            0.0,
            1e-310,
            1.0,
            2.5,
            1e300,
            f64::INFINITY,
        ];
        let sorted = xs.clone();
        xs.reverse();
        xs.sort_by_key(|&x| f64_key(x));
        assert_eq!(
            xs.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            sorted.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
    }
}
