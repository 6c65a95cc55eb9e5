//! A small ZIP writer (PKWARE APPNOTE 6.3, no ZIP64): deflated entries with CRC-32, UTF-8 names,
//! a central directory and its end record. Enough for a GTFS feed of a few files; written here
//! because `flate2` and `crc32fast` are already built for printpdf, while a zip crate would bring
//! a dependency tree of its own.

use std::io::Write;

use chrono::{Datelike, NaiveDateTime, Timelike};
use flate2::Compression;
use flate2::write::DeflateEncoder;

/// General purpose flag: the file name is UTF-8.
const UTF8_NAMES: u16 = 1 << 11;
/// Compression method 8: deflate.
const DEFLATE: u16 = 8;
/// Version 2.0: deflate.
const VERSION: u16 = 20;

/// Why an archive cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum ZipError {
    #[error("{0} is too large for a ZIP without ZIP64")]
    TooLarge(String),
    #[error("deflate: {0}")]
    Io(#[from] std::io::Error),
}

struct Entry {
    name: String,
    crc: u32,
    compressed: u32,
    size: u32,
    offset: u32,
}

/// The archive of `files` (name, content), each entry stamped with `modified` (local time,
/// as ZIP has no time zone; clamped to 1980..=2107).
pub fn archive(files: &[(&str, Vec<u8>)], modified: NaiveDateTime) -> Result<Vec<u8>, ZipError> {
    let (time, date) = dos_time(modified);
    let mut out: Vec<u8> = Vec::new();
    let mut entries = Vec::with_capacity(files.len());
    let fits = |n: usize, what: &str| u32::try_from(n).map_err(|_| ZipError::TooLarge(what.into()));
    for (name, content) in files {
        let mut encoder = DeflateEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(content)?;
        let data = encoder.finish()?;
        let entry = Entry {
            name: (*name).to_string(),
            crc: crc32fast::hash(content),
            compressed: fits(data.len(), name)?,
            size: fits(content.len(), name)?,
            offset: fits(out.len(), "the archive")?,
        };
        let name_len =
            u16::try_from(name.len()).map_err(|_| ZipError::TooLarge(name.to_string()))?;
        put32(&mut out, 0x0403_4b50);
        put16(&mut out, VERSION);
        put16(&mut out, UTF8_NAMES);
        put16(&mut out, DEFLATE);
        put16(&mut out, time);
        put16(&mut out, date);
        put32(&mut out, entry.crc);
        put32(&mut out, entry.compressed);
        put32(&mut out, entry.size);
        put16(&mut out, name_len);
        put16(&mut out, 0);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&data);
        entries.push(entry);
    }
    let directory_at = fits(out.len(), "the archive")?;
    for entry in &entries {
        put32(&mut out, 0x0201_4b50);
        put16(&mut out, VERSION);
        put16(&mut out, VERSION);
        put16(&mut out, UTF8_NAMES);
        put16(&mut out, DEFLATE);
        put16(&mut out, time);
        put16(&mut out, date);
        put32(&mut out, entry.crc);
        put32(&mut out, entry.compressed);
        put32(&mut out, entry.size);
        // Checked when the local header was written.
        put16(&mut out, entry.name.len() as u16);
        put16(&mut out, 0); // extra field
        put16(&mut out, 0); // comment
        put16(&mut out, 0); // disk number
        put16(&mut out, 0); // internal attributes
        put32(&mut out, 0); // external attributes
        put32(&mut out, entry.offset);
        out.extend_from_slice(entry.name.as_bytes());
    }
    let directory_size = fits(out.len(), "the archive")? - directory_at;
    let count = u16::try_from(entries.len()).map_err(|_| ZipError::TooLarge("the list".into()))?;
    put32(&mut out, 0x0605_4b50);
    put16(&mut out, 0); // this disk
    put16(&mut out, 0); // disk of the directory
    put16(&mut out, count);
    put16(&mut out, count);
    put32(&mut out, directory_size);
    put32(&mut out, directory_at);
    put16(&mut out, 0); // comment
    Ok(out)
}

/// MS-DOS time and date fields: two-second resolution, years from 1980.
fn dos_time(t: NaiveDateTime) -> (u16, u16) {
    let year = t.year().clamp(1980, 2107) as u16;
    let time = (t.hour() as u16) << 11 | (t.minute() as u16) << 5 | (t.second() as u16 / 2);
    let date = (year - 1980) << 9 | (t.month() as u16) << 5 | t.day() as u16;
    (time, date)
}

fn put16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn entries_can_be_read_back() {
        let t = "2027-03-26T09:30:12".parse::<NaiveDateTime>().unwrap();
        let files = [
            ("agency.txt", b"agency_id,agency_name\n1,IMBUS\n".to_vec()),
            ("st\u{f6}ps.txt", "M\u{fc}hle ".repeat(500).into_bytes()),
        ];
        let zip = archive(&files, t).unwrap();
        // End record: two entries, directory right before it.
        let end = &zip[zip.len() - 22..];
        assert_eq!(&end[..4], &[0x50, 0x4b, 0x05, 0x06]);
        assert_eq!(u16::from_le_bytes([end[10], end[11]]), 2);
        // The second entry's data inflates to the content and matches its CRC.
        let offset = {
            let dir = u32::from_le_bytes([end[16], end[17], end[18], end[19]]) as usize;
            let first_name = u16::from_le_bytes([zip[dir + 28], zip[dir + 29]]) as usize;
            let second = dir + 46 + first_name;
            u32::from_le_bytes([
                zip[second + 42],
                zip[second + 43],
                zip[second + 44],
                zip[second + 45],
            ]) as usize
        };
        let header = &zip[offset..offset + 30];
        let csize = u32::from_le_bytes([header[18], header[19], header[20], header[21]]) as usize;
        let name_len = u16::from_le_bytes([header[26], header[27]]) as usize;
        assert_eq!(
            &zip[offset + 30..offset + 30 + name_len],
            files[1].0.as_bytes()
        );
        let data = &zip[offset + 30 + name_len..offset + 30 + name_len + csize];
        let mut inflated = Vec::new();
        flate2::read::DeflateDecoder::new(data)
            .read_to_end(&mut inflated)
            .unwrap();
        assert_eq!(inflated, files[1].1);
        assert!(csize < files[1].1.len() / 4, "deflate compresses: {csize}");
        assert_eq!(dos_time(t), (9 << 11 | 30 << 5 | 6, 47 << 9 | 3 << 5 | 26));
    }
}
