//! Bit-packed ITQ widths: `width_index/P`, a `U8` tensor of shape `[ceil(n * b / 8)]`
//! holding for each of the parameter's `n` values (row-major) a `b`-bit index into the
//! width table `agq.width_table` (metadata: the distinct widths, comma-separated,
//! ascending), least significant bits first. `b` is 1, 2 or 4: the fewest bits that index
//! the table (so an index never straddles a byte). A schedule of `8,4,0` plus float needs
//! 2 bits per value instead of the 8 of `width/P`.

/// Metadata key of the width table.
pub const KEY_WIDTH_TABLE: &str = "agq.width_table";

/// The largest table that packs (4 bits per index).
const MAX_TABLE: usize = 16;

/// Bits per index for a table of `len` widths: 1, 2 or 4.
pub fn index_bits(len: usize) -> usize {
    match len {
        0..=2 => 1,
        3..=4 => 2,
        _ => 4,
    }
}

/// Bytes of a packed tensor of `n` values with `bits` per index.
pub fn packed_len(n: usize, bits: usize) -> usize {
    (n * bits).div_ceil(8)
}

/// The distinct widths of all `widths`, ascending, when there are at most 16 (else `None`:
/// the widths are written one byte each as `width/P`).
pub fn table_of<'a>(widths: impl IntoIterator<Item = &'a [u8]>) -> Option<Vec<u8>> {
    let mut seen = [false; 256];
    for w in widths {
        w.iter().for_each(|&b| seen[b as usize] = true);
    }
    let table: Vec<u8> = (0..=255u8).filter(|&b| seen[b as usize]).collect();
    (table.len() <= MAX_TABLE).then_some(table)
}

/// Packs `widths` (each in `table`) into `index_bits(table.len())`-bit indices.
///
/// # Panics
/// If a width is not in `table`.
pub fn pack(widths: &[u8], table: &[u8]) -> Vec<u8> {
    let bits = index_bits(table.len());
    let mut index_of = [u8::MAX; 256];
    for (i, &b) in table.iter().enumerate() {
        index_of[b as usize] = i as u8;
    }
    let mut out = vec![0u8; packed_len(widths.len(), bits)];
    for (i, &w) in widths.iter().enumerate() {
        let index = index_of[w as usize];
        assert!(index != u8::MAX, "width {w} is not in the table");
        let bit = i * bits;
        out[bit / 8] |= index << (bit % 8);
    }
    out
}

/// Unpacks `n` widths; `Err((position, index))` for an index outside the table.
pub fn unpack(data: &[u8], n: usize, table: &[u8]) -> Result<Vec<u8>, (usize, u8)> {
    let bits = index_bits(table.len());
    let mask = ((1u16 << bits) - 1) as u8;
    (0..n)
        .map(|i| {
            let bit = i * bits;
            let index = (data[bit / 8] >> (bit % 8)) & mask;
            table.get(index as usize).copied().ok_or((i, index))
        })
        .collect()
}

/// Parses `agq.width_table`: 1 to 16 distinct widths, ascending.
pub fn parse_table(text: &str) -> Result<Vec<u8>, WidthTableError> {
    let table: Vec<u8> = text
        .split(',')
        .map(|s| s.trim().parse::<u8>().map_err(|_| WidthTableError::NotAWidth(s.to_string())))
        .collect::<Result<_, _>>()?;
    if table.is_empty() || table.len() > MAX_TABLE {
        return Err(WidthTableError::Count(table.len()));
    }
    if !table.windows(2).all(|w| w[0] < w[1]) {
        return Err(WidthTableError::NotAscending);
    }
    Ok(table)
}

/// Why `agq.width_table` or a `width_index/P` tensor cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WidthTableError {
    /// An entry that is not a number 0..=255 (the entry's text).
    NotAWidth(String),
    /// Not 1 to 16 widths.
    Count(usize),
    /// Widths not strictly ascending.
    NotAscending,
    /// No table, though `tensor` (`width_index/P`) needs one.
    Missing { tensor: String },
    /// `tensor[index]` holds `value`, outside a table of `widths` widths.
    Index { tensor: String, index: usize, value: u8, widths: usize },
}

impl std::fmt::Display for WidthTableError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WidthTableError::NotAWidth(s) => write!(f, "{s:?} is not a width"),
            WidthTableError::Count(n) => write!(f, "{n} widths, expected 1 to {MAX_TABLE}"),
            WidthTableError::NotAscending => f.write_str("the widths are not strictly ascending"),
            WidthTableError::Missing { tensor } => write!(f, "missing, and {tensor} needs it"),
            WidthTableError::Index { tensor, index, value, widths } => {
                write!(f, "{tensor}[{index}] is index {value}, the table has {widths} widths")
            }
        }
    }
}

impl std::error::Error for WidthTableError {}

/// The text of a table for `agq.width_table`.
pub fn table_text(table: &[u8]) -> String {
    table.iter().map(u8::to_string).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_then_unpack_gives_the_widths_back_at_every_index_size() {
        for table in [vec![32], vec![0, 32], vec![0, 4, 8, 32], vec![0, 2, 3, 4, 5, 6, 7, 8, 32]] {
            let widths: Vec<u8> = (0..37).map(|i| table[(i * 7 + i / 3) % table.len()]).collect();
            let packed = pack(&widths, &table);
            assert_eq!(packed.len(), packed_len(37, index_bits(table.len())));
            assert_eq!(unpack(&packed, 37, &table), Ok(widths), "{table:?}");
        }
    }

    #[test]
    fn four_widths_take_two_bits_each() {
        assert_eq!(pack(&[0, 4, 8, 32, 32], &[0, 4, 8, 32]), vec![0b1110_0100, 0b0000_0011]);
    }

    #[test]
    fn an_index_outside_the_table_is_reported() {
        assert_eq!(unpack(&[0b0000_1100], 3, &[0, 4, 8]), Err((1, 3)));
    }

    #[test]
    fn tables_must_be_short_ascending_widths() {
        assert_eq!(parse_table("0, 4,8,32"), Ok(vec![0, 4, 8, 32]));
        assert!(parse_table("4,0").is_err());
        assert!(parse_table("").is_err());
        assert!(parse_table("a").is_err());
        assert!(parse_table(&(0..17).map(|i| i.to_string()).collect::<Vec<_>>().join(",")).is_err());
        assert_eq!(table_of([&[32u8, 0][..], &[8, 8][..]]), Some(vec![0, 8, 32]));
        assert_eq!(table_of([&(0..17).collect::<Vec<u8>>()[..]]), None);
    }
}
