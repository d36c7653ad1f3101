//! CSV tables of typed rows (serde + csv): resumable ones appended and fsynced one record at a
//! time ([`Appender::open`]), read back after a kill (a partially written last line is cut
//! off), and rewritten atomically ([`rewrite`]); a table of one run written whole with
//! [`rewrite`], or progressively from its first row with [`Appender::create`].
//!
//! A table is a CSV file whose header is [`Record::COLUMNS`]; a row type is a plain
//! `Serialize + Deserialize` struct whose fields are the columns, in order (no `flatten`: the
//! csv crate reads fields by position). Floats go through [`float`] / [`opt_float`] so that they
//! are written as elsewhere in depthscale (shortest round trip, `inf`, `-inf`, `nan`, empty for
//! missing) and read back from any spelling Rust's `f64` parser accepts.

use super::output::{
    WriteMode, non_regular, open_for_reading, open_for_writing, refuse_non_regular, replace_with,
    take_capped,
};
use crate::{Error, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fs::File;
use std::io::Write;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

/// A row of a resumable table.
pub trait Record: Serialize + DeserializeOwned {
    /// The header: the names of the struct's fields, in order.
    const COLUMNS: &'static [&'static str];
}

/// The bytes of `bytes` up to and including the last newline (an appended file's complete
/// lines).
pub fn complete_lines(bytes: &[u8]) -> &[u8] {
    bytes
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(&[][..], |i| &bytes[..=i])
}

/// The rows of the table at `path` (a missing file is empty), at most `max_bytes` long. A
/// partially written last line is ignored, and cut off the file when `repair`, once the rest
/// has been read as a valid table. A wrong header or a malformed row is an [`Error::Data`]
/// naming the file and the line; a table that is not a regular file (a symbolic link) is
/// refused, never read nor repaired.
pub fn read<R: Record>(path: &Path, repair: bool, max_bytes: u64) -> Result<Vec<R>> {
    if let Some(what) = non_regular(path)? {
        return Err(refuse_non_regular(path, what));
    }
    if !path.exists() {
        return Ok(Vec::new());
    }
    let name = path
        .file_name()
        .map_or_else(|| "table".into(), |n| n.to_string_lossy().into_owned());
    let bytes = take_capped(open_for_reading(path)?, path, max_bytes, &name)?;
    let complete = complete_lines(&bytes);
    let rows = parse(path, complete)?;
    if repair && complete.len() < bytes.len() {
        let f = open_for_writing(path, WriteMode::Keep)?;
        f.set_len(complete.len() as u64)
            .and_then(|()| f.sync_data())
            .map_err(|e| Error::io(path, e))?;
    }
    Ok(rows)
}

/// Parses the complete lines of a table (see [`read`]); `origin` names it in errors.
pub fn parse<R: Record>(origin: &Path, bytes: &[u8]) -> Result<Vec<R>> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(bytes);
    let found = reader
        .headers()
        .map_err(|e| Error::data(origin, format!("unreadable CSV header: {}", brief(&e))))?
        .clone();
    if found.iter().ne(R::COLUMNS.iter().copied()) {
        return Err(Error::data(
            origin,
            format!(
                "header is `{}`, expected `{}`",
                printable(&found.iter().collect::<Vec<_>>().join(",")),
                R::COLUMNS.join(",")
            ),
        ));
    }
    // By position, not by the header's names: a row may nest a row type (a tuple struct of a
    // key and an [`EpochRow`](super::training::EpochRow)), which the csv crate reads only so.
    reader
        .records()
        .enumerate()
        .map(|(i, r)| {
            r.and_then(|record| record.deserialize::<R>(None))
                .map_err(|e| Error::data(origin, format!("line {}: {}", i + 2, brief(&e))))
        })
        .collect()
}

/// A csv error without its position prefix, made printable.
fn brief(e: &csv::Error) -> String {
    let text = match e.kind() {
        csv::ErrorKind::Deserialize { err, .. } => err.to_string(),
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{len} fields, expected {expected_len}"),
        csv::ErrorKind::Utf8 { err, .. } => format!("invalid UTF-8 ({err})"),
        _ => e.to_string(),
    };
    printable(&text)
}

/// `s` with control characters escaped and cut to 200 characters (it may quote file bytes).
fn printable(s: &str) -> String {
    let escaped: String = s.chars().flat_map(char::escape_debug).collect();
    match escaped.char_indices().nth(200) {
        Some((i, _)) => format!("{}...", &escaped[..i]),
        None => escaped,
    }
}

/// A table opened for appending: each [`Appender::push`] writes one row.
pub struct Appender<R> {
    path: PathBuf,
    writer: csv::Writer<File>,
    _rows: PhantomData<R>,
}

impl<R: Record> Appender<R> {
    /// Opens (creating it if needed, never through a symbolic link) the table at `path`; the
    /// header is written first when the file is new or empty.
    pub fn open(path: &Path) -> Result<Self> {
        Self::with_mode(path, WriteMode::Append)
    }

    /// Creates (truncating it, never through a symbolic link) the table at `path` and writes
    /// the header: a table written progressively from its first row, not resumed.
    pub fn create(path: &Path) -> Result<Self> {
        Self::with_mode(path, WriteMode::Truncate)
    }

    fn with_mode(path: &Path, mode: WriteMode) -> Result<Self> {
        let file = open_for_writing(path, mode)?;
        let fresh = file.metadata().map_err(|e| Error::io(path, e))?.len() == 0;
        let mut a = Self {
            path: path.to_owned(),
            writer: csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(file),
            _rows: PhantomData,
        };
        if fresh {
            a.writer
                .write_record(R::COLUMNS)
                .map_err(|e| Error::io(path, e.into()))?;
            a.sync()?;
        }
        Ok(a)
    }

    /// Appends one row (buffered until [`Appender::sync`]).
    pub fn push(&mut self, row: &R) -> Result<()> {
        self.writer
            .serialize(row)
            .map_err(|e| Error::io(&self.path, e.into()))
    }

    /// Hands the buffered rows to the operating system: they survive the process being
    /// killed (not a crash of the machine; see [`Appender::sync`]).
    pub fn flush(&mut self) -> Result<()> {
        self.writer.flush().map_err(|e| Error::io(&self.path, e))
    }

    /// Writes the buffered rows and fsyncs the file: they survive a kill or a crash.
    pub fn sync(&mut self) -> Result<()> {
        self.writer
            .flush()
            .and_then(|()| self.writer.get_ref().sync_data())
            .map_err(|e| Error::io(&self.path, e))
    }
}

/// Replaces the table at `path` with `rows`, atomically (temporary file, fsync, rename; see
/// [`replace_with`]).
pub fn rewrite<'a, R: Record + 'a>(
    path: &Path,
    rows: impl IntoIterator<Item = &'a R>,
) -> Result<()> {
    rewrite_wide(path, &[], rows)
}

/// [`rewrite`] for a row type whose last field is a sequence of `trailing.len()` values (a
/// `Vec`, serialized with [`floats`]): the header is [`Record::COLUMNS`] followed by
/// `trailing`, the names chosen at run time (`h1, h2, ...`). Every row must hold that many.
pub fn rewrite_wide<'a, R: Record + 'a>(
    path: &Path,
    trailing: &[String],
    rows: impl IntoIterator<Item = &'a R>,
) -> Result<()> {
    replace_with(path, |tmp, file| {
        let written = (|| -> std::result::Result<(), csv::Error> {
            let mut w = csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(file);
            w.write_record(
                R::COLUMNS
                    .iter()
                    .copied()
                    .chain(trailing.iter().map(String::as_str)),
            )?;
            for r in rows {
                w.serialize(r)?;
            }
            let mut file = w
                .into_inner()
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            file.flush()?;
            file.sync_all()?;
            Ok(())
        })();
        written.map_err(|e| Error::io(tmp, e.into()))
    })
}

/// Serde helpers for an `f64` column written with [`super::cell`].
pub mod float {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes `x` as [`super::super::cell`] does.
    pub fn serialize<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::super::cell(Some(*x)))
    }

    /// Reads a number (`inf`, `nan` included); an empty field reads as `NaN`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        let s = String::deserialize(d)?;
        parse(&s).ok_or_else(|| serde::de::Error::custom(format!("{s:?} is not a number")))
    }

    /// Parses a trimmed number, empty as `NaN`.
    pub(super) fn parse(s: &str) -> Option<f64> {
        match s.trim() {
            "" => Some(f64::NAN),
            t => t.parse().ok(),
        }
    }
}

/// Serde helpers for a trailing `Vec<f64>` of columns (see [`rewrite_wide`]), each written as
/// [`float`] writes one.
pub mod floats {
    use serde::ser::SerializeSeq;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes each value as [`super::super::cell`] does.
    pub fn serialize<S: Serializer>(xs: &[f64], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(xs.len()))?;
        for x in xs {
            seq.serialize_element(&super::super::cell(Some(*x)))?;
        }
        seq.end()
    }

    /// Reads the remaining fields as numbers (empty as `NaN`).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|s| {
                super::float::parse(s)
                    .ok_or_else(|| serde::de::Error::custom(format!("{s:?} is not a number")))
            })
            .collect()
    }
}

/// Serde helpers for an `Option<f64>` column: empty when `None`.
pub mod opt_float {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes `x` as [`super::super::cell`] does (empty for `None`).
    pub fn serialize<S: Serializer>(x: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::super::cell(*x))
    }

    /// Reads an empty field as `None`, anything else as a number.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        let s = String::deserialize(d)?;
        if s.trim().is_empty() {
            return Ok(None);
        }
        super::float::parse(&s)
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("{s:?} is not a number")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
    struct Row {
        #[serde(with = "float")]
        x: f64,
        #[serde(with = "opt_float")]
        h: Option<f64>,
        n: usize,
        tag: String,
    }

    impl Record for Row {
        const COLUMNS: &'static [&'static str] = &["x", "h", "n", "tag"];
    }

    /// A key column before a nested row, as `weights`' `metrics.csv` nests `EpochRow`.
    #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
    struct Keyed(String, Row);

    impl Record for Keyed {
        const COLUMNS: &'static [&'static str] = &["key", "x", "h", "n", "tag"];
    }

    /// A row ending with one column per coordinate.
    #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
    struct Wide {
        n: usize,
        #[serde(with = "floats")]
        h: Vec<f64>,
    }

    impl Record for Wide {
        const COLUMNS: &'static [&'static str] = &["n"];
    }

    #[test]
    fn nested_rows_are_written_and_read_by_position() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("k.csv");
        let inner = Row {
            x: 0.5,
            h: Some(f64::NEG_INFINITY),
            n: 7,
            tag: "t".into(),
        };
        let rows = vec![Keyed("m0".into(), inner.clone()), Keyed("m1".into(), inner)];
        rewrite(&path, &rows).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "key,x,h,n,tag\nm0,0.5,-inf,7,t\nm1,0.5,-inf,7,t\n");
        assert_eq!(read::<Keyed>(&path, false, 1 << 20).unwrap(), rows);
        // The header is still checked by name.
        std::fs::write(&path, text.replace("key,", "model,")).unwrap();
        let err = read::<Keyed>(&path, false, 1 << 20)
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected `key,x,h,n,tag`"), "{err}");
    }

    #[test]
    fn wide_rows_write_their_trailing_columns_as_cells() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("w.csv");
        let rows = [
            Wide {
                n: 1,
                h: vec![1.0, 0.25, f64::NAN],
            },
            Wide {
                n: 2,
                h: vec![-3.0, f64::INFINITY, 1.5e-7],
            },
        ];
        let names: Vec<String> = (1..=3).map(|c| format!("h{c}")).collect();
        rewrite_wide(&path, &names, &rows).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "n,h1,h2,h3\n1,1,0.25,nan\n2,-3,inf,0.00000015\n"
        );
        // A row of another length is refused, naming the file, and nothing is replaced.
        let short = [Wide { n: 3, h: vec![1.0] }];
        assert!(rewrite_wide(&path, &names, &short).is_err());
        assert!(
            std::fs::read_to_string(&path)
                .unwrap()
                .starts_with("n,h1,h2,h3\n1,")
        );
    }

    #[test]
    fn complete_lines_drop_a_partial_tail() {
        assert_eq!(complete_lines(b"a,b\n1,2\n3,"), b"a,b\n1,2\n");
        assert_eq!(complete_lines(b"a,b\n"), b"a,b\n");
        assert_eq!(complete_lines(b"a,b"), b"");
    }

    #[test]
    fn rows_round_trip_through_append_repair_and_rewrite() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("t.csv");
        let rows = vec![
            Row {
                x: 0.01,
                h: None,
                n: 3,
                tag: "a,b".into(),
            },
            Row {
                x: f64::INFINITY,
                h: Some(-2.0),
                n: 0,
                tag: "fbm(0.5)".into(),
            },
        ];
        let mut a = Appender::<Row>::open(&path).unwrap();
        for r in &rows {
            a.push(r).unwrap();
        }
        a.sync().unwrap();
        drop(a);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "x,h,n,tag\n0.01,,3,\"a,b\"\ninf,-2,0,fbm(0.5)\n");
        // A kill mid-row: the tail is ignored, and cut when repairing.
        std::fs::write(&path, format!("{text}0.5,1,")).unwrap();
        assert_eq!(read::<Row>(&path, false, 1 << 20).unwrap(), rows);
        assert!(std::fs::read_to_string(&path).unwrap().ends_with("0.5,1,"));
        assert_eq!(read::<Row>(&path, true, 1 << 20).unwrap(), rows);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        rewrite(&path, rows.iter().rev()).unwrap();
        let back: Vec<Row> = read(&path, false, 1 << 20).unwrap();
        assert_eq!(back[0], rows[1]);
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
        assert!(
            read::<Row>(&tmp.path().join("absent"), true, 10)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_created_table_starts_over_and_flushes_row_by_row() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("t.csv");
        std::fs::write(&path, "x,h,n,tag\n1,,2,old\n").unwrap();
        let mut a = Appender::<Row>::create(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "x,h,n,tag\n");
        let row = Row {
            x: f64::NAN,
            h: Some(0.5),
            n: 1,
            tag: "new".into(),
        };
        a.push(&row).unwrap();
        a.flush().unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "x,h,n,tag\nnan,0.5,1,new\n"
        );
        a.sync().unwrap();
        let back: Vec<Row> = read(&path, false, 1 << 20).unwrap();
        assert!(back[0].x.is_nan() && back[0].h == Some(0.5) && back[0].tag == "new");
    }

    #[cfg(unix)]
    #[test]
    fn a_table_is_never_repaired_through_a_symlink_nor_before_it_is_valid() {
        // issue 20, item 4: cells.csv a symlink to a user file with a partial last line.
        let tmp = tempfile::tempdir().unwrap();
        let user = tmp.path().join("notes.txt");
        let text = "x,h,n,tag\n1,,2,a\nunfinished";
        std::fs::write(&user, text).unwrap();
        let table = tmp.path().join("cells.csv");
        std::os::unix::fs::symlink(&user, &table).unwrap();
        for repair in [false, true] {
            let err = read::<Row>(&table, repair, 1 << 20)
                .unwrap_err()
                .to_string();
            assert!(err.contains("symbolic link"), "{err}");
        }
        assert!(Appender::<Row>::open(&table).is_err());
        assert!(rewrite::<Row>(&table, []).is_err());
        assert_eq!(std::fs::read_to_string(&user).unwrap(), text);
        // A regular file that is not a valid table is left as it is.
        let bad = tmp.path().join("bad.csv");
        let text = "not,a,table\n1,2,3\ntail";
        std::fs::write(&bad, text).unwrap();
        assert!(read::<Row>(&bad, true, 1 << 20).is_err());
        assert_eq!(std::fs::read_to_string(&bad).unwrap(), text);
    }

    #[test]
    fn malformed_tables_name_the_line() {
        let p = Path::new("t.csv");
        let err = |text: &str| parse::<Row>(p, text.as_bytes()).unwrap_err().to_string();
        assert!(err("x,h\n").contains("header"), "{}", err("x,h\n"));
        let e = err("x,h,n,tag\n1,,2,a\nzz,,2,a\n");
        assert!(e.contains("line 3") && e.contains("not a number"), "{e}");
        let e = err("x,h,n,tag\n1,,-2,a\n");
        assert!(e.contains("line 2"), "{e}");
        let e = err("x,h,n,tag\n1,2\n");
        assert!(e.contains("line 2") && e.contains("2 fields"), "{e}");
        assert!(parse::<Row>(p, "x,h,n,tag\n1,,2,\u{1}\n".as_bytes()).is_ok());
        let e = err("\u{1}\u{2}\n");
        assert!(!e.contains('\u{1}'), "{e}");
        let tmp = tempfile::tempdir().unwrap();
        let big = tmp.path().join("t.csv");
        std::fs::write(&big, vec![b'x'; 100]).unwrap();
        assert!(matches!(
            read::<Row>(&big, false, 99),
            Err(Error::TooLarge { .. })
        ));
    }
}
