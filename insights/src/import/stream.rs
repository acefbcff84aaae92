//! The bytes of a file as the parsers read them: checked as they pass (UTF-8, no NUL byte, a
//! byte order mark dropped), the first megabyte kept aside to tell the format by, and metered so
//! that no single row can make a parser buffer more than [`MAX_ROW_BYTES`](super::MAX_ROW_BYTES).
//!
//! The parsers (the `csv` crate, serde_json) only see `io::Error`s from their reader; what went
//! wrong is kept in a shared [`Trouble`] and turned back into a [`FileError`] by the caller.

use std::cell::{Cell, RefCell};
use std::io::{self, Read};
use std::rc::Rc;

use super::{FileError, MAX_ROW_BYTES, Source};

/// Bytes read before anything is parsed, to tell the format by and refuse empty, UTF-16 and
/// binary files at once.
pub(super) const HEAD_BYTES: usize = MAX_ROW_BYTES;

/// Why a reader stopped, for the parser's caller.
#[derive(Debug, Default)]
pub(super) struct Trouble {
    /// The file is refused (not UTF-8, binary, unreadable).
    file: RefCell<Option<FileError>>,
    /// A row went past its limit.
    too_long: Cell<bool>,
    /// Whoever takes the rows asked to stop.
    stopped: Cell<bool>,
}

impl Trouble {
    fn refuse(&self, error: FileError) -> io::Error {
        let message = error.to_string();
        self.file.borrow_mut().get_or_insert(error);
        io::Error::other(message)
    }

    /// Records that the consumer asked to stop.
    pub(super) fn stop(&self) {
        self.stopped.set(true);
    }

    pub(super) fn stopped(&self) -> bool {
        self.stopped.get()
    }

    /// The reason a parser failed, if a reader knows it: the file's own fault first, then a row
    /// too long (described by `too_long`).
    pub(super) fn explain(&self, too_long: impl FnOnce() -> FileError) -> Option<FileError> {
        if let Some(error) = self.file.borrow().clone() {
            return Some(error);
        }
        self.too_long.get().then(too_long)
    }
}

/// Checks text as it streams past: no NUL byte, valid UTF-8 (a character may straddle two
/// reads), counting lines for messages.
#[derive(Debug, Default)]
struct Validator {
    /// Newlines seen so far.
    lines: usize,
    /// The start of a character cut by the end of the last read.
    pending: Vec<u8>,
}

impl Validator {
    fn feed(&mut self, chunk: &[u8]) -> Result<(), FileError> {
        if let Some(at) = chunk.iter().position(|&b| b == 0) {
            return Err(FileError::Binary {
                line: self.lines + newlines(&chunk[..at]) + 1,
            });
        }
        let joined;
        let data: &[u8] = if self.pending.is_empty() {
            chunk
        } else {
            joined = [self.pending.as_slice(), chunk].concat();
            &joined
        };
        let result = match std::str::from_utf8(data) {
            Ok(_) => Ok(Vec::new()),
            Err(e) if e.error_len().is_none() => Ok(data[e.valid_up_to()..].to_vec()),
            Err(e) => {
                let at = e.valid_up_to();
                Err(FileError::NotUtf8 {
                    line: self.lines + newlines(&data[..at]) + 1,
                    byte: data[at],
                })
            }
        };
        self.pending = result?;
        self.lines += newlines(chunk);
        Ok(())
    }

    /// At the end of the file: a character left unfinished is not UTF-8.
    fn finish(&self) -> Result<(), FileError> {
        match self.pending.first() {
            Some(&byte) => Err(FileError::NotUtf8 {
                line: self.lines + 1,
                byte,
            }),
            None => Ok(()),
        }
    }
}

fn newlines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count()
}

/// The rest of a file after its head, checked by the head's [`Validator`].
struct Checked<'a> {
    inner: Box<dyn Read + 'a>,
    validator: Validator,
    trouble: Rc<Trouble>,
    done: bool,
}

impl Read for Checked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        let checked = if n == 0 {
            self.done = true;
            self.validator.finish()
        } else {
            self.validator.feed(&buf[..n])
        };
        checked.map_err(|e| self.trouble.refuse(e))?;
        Ok(n)
    }
}

/// A file opened for one pass: its head (checked, without a byte order mark) and the rest.
pub(super) struct Opened<'a> {
    head: Vec<u8>,
    /// How many bytes of the head are whole characters.
    text_len: usize,
    rest: Checked<'a>,
}

impl<'a> Opened<'a> {
    /// Opens `source` and reads its head, refusing an empty, UTF-16 or binary file at once.
    pub(super) fn open(source: &'a dyn Source, trouble: Rc<Trouble>) -> Result<Self, FileError> {
        let io_error = |e: io::Error| FileError::Io {
            message: e.to_string(),
        };
        let mut inner = source.open().map_err(io_error)?;
        let mut head = Vec::with_capacity(64 * 1024);
        let complete = read_up_to(&mut inner, &mut head, HEAD_BYTES + 3).map_err(io_error)?;
        if head.starts_with(b"\xEF\xBB\xBF") {
            head.drain(..3);
        }
        if complete && head.iter().all(u8::is_ascii_whitespace) {
            return Err(FileError::Empty);
        }
        if head.starts_with(b"\xFF\xFE") || head.starts_with(b"\xFE\xFF") {
            return Err(FileError::Utf16);
        }
        let mut validator = Validator::default();
        validator.feed(&head)?;
        if complete {
            validator.finish()?;
        }
        let text_len = head.len() - validator.pending.len();
        Ok(Opened {
            head,
            text_len,
            rest: Checked {
                inner,
                validator,
                trouble,
                done: complete,
            },
        })
    }

    /// The head's text, to tell the format by.
    pub(super) fn head_text(&self) -> &str {
        std::str::from_utf8(&self.head[..self.text_len]).unwrap_or_default()
    }

    /// The whole file, from its first character.
    pub(super) fn into_reader(self) -> impl Read + 'a {
        io::Cursor::new(self.head).chain(self.rest)
    }
}

/// Reads until `buf` holds `limit` bytes or the file ends; true when it ended.
fn read_up_to(reader: &mut dyn Read, buf: &mut Vec<u8>, limit: usize) -> io::Result<bool> {
    let mut chunk = vec![0; 64 * 1024];
    while buf.len() < limit {
        let want = chunk.len().min(limit - buf.len());
        match reader.read(&mut chunk[..want]) {
            Ok(0) => return Ok(true),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(false)
}

/// How far a parser may read, and what it read last (for CSV, whose reader reports no unclosed
/// quote and whose last record must be looked at again).
#[derive(Debug, Default)]
pub(super) struct Meter {
    consumed: Cell<u64>,
    limit: Cell<u64>,
    /// Whether bytes are kept in `tail` at all.
    keep: Cell<bool>,
    /// Bytes from offset `tail_start` on.
    tail: RefCell<Vec<u8>>,
    tail_start: Cell<u64>,
    /// Newlines before `tail_start`.
    tail_lines: Cell<usize>,
}

/// Bytes dropped from the front of the tail at once: dropping on every record would move the
/// rest of the tail each time.
const TAIL_SLACK: u64 = 4 * 1024 * 1024;

impl Meter {
    pub(super) fn new(keep_tail: bool) -> Rc<Meter> {
        let meter = Meter::default();
        meter.limit.set(u64::MAX);
        meter.keep.set(keep_tail);
        Rc::new(meter)
    }

    /// Lets the parser read at most `bytes` more.
    pub(super) fn allow(&self, bytes: usize) {
        self.limit
            .set(self.consumed.get().saturating_add(bytes as u64));
    }

    /// Lets the parser read up to `offset + bytes`.
    pub(super) fn allow_from(&self, offset: u64, bytes: usize) {
        self.limit.set(offset.saturating_add(bytes as u64));
    }

    /// No limit.
    pub(super) fn unlimited(&self) {
        self.limit.set(u64::MAX);
    }

    /// Bytes before `offset` need not be kept any more.
    pub(super) fn keep_from(&self, offset: u64) {
        let start = self.tail_start.get();
        if offset > start && offset - start > TAIL_SLACK {
            let mut tail = self.tail.borrow_mut();
            let drop = usize::try_from(offset - start)
                .unwrap_or(usize::MAX)
                .min(tail.len());
            self.tail_lines
                .set(self.tail_lines.get() + newlines(&tail[..drop]));
            tail.drain(..drop);
            self.tail_start.set(start + drop as u64);
        }
    }

    /// The kept bytes from `offset` on, and the 1-based line of the byte at `offset`.
    pub(super) fn tail_from(&self, offset: u64) -> (Vec<u8>, usize) {
        let tail = self.tail.borrow();
        let at = usize::try_from(offset.saturating_sub(self.tail_start.get()))
            .unwrap_or(usize::MAX)
            .min(tail.len());
        (
            tail[at..].to_vec(),
            self.tail_lines.get() + newlines(&tail[..at]) + 1,
        )
    }
}

/// A reader that stops with an error when its [`Meter`] says the parser has read enough.
pub(super) struct Metered<R> {
    inner: R,
    meter: Rc<Meter>,
    trouble: Rc<Trouble>,
}

impl<R: Read> Metered<R> {
    pub(super) fn new(inner: R, meter: Rc<Meter>, trouble: Rc<Trouble>) -> Self {
        Metered {
            inner,
            meter,
            trouble,
        }
    }
}

impl<R: Read> Read for Metered<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let room = self
            .meter
            .limit
            .get()
            .saturating_sub(self.meter.consumed.get());
        if room == 0 {
            self.trouble.too_long.set(true);
            return Err(io::Error::other("a row is too long"));
        }
        let want = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.meter
            .consumed
            .set(self.meter.consumed.get() + n as u64);
        if self.meter.keep.get() {
            self.meter.tail.borrow_mut().extend_from_slice(&buf[..n]);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_character_cut_between_reads_is_whole() {
        let mut v = Validator::default();
        let text = "é\nü".as_bytes();
        v.feed(&text[..1]).expect("a cut character waits");
        v.feed(&text[1..]).expect("and is completed");
        assert_eq!(v.finish(), Ok(()));
        assert_eq!(v.lines, 1);
        let mut v = Validator::default();
        v.feed(&"é".as_bytes()[..1]).expect("a cut character waits");
        assert!(v.finish().is_err());
    }

    #[test]
    fn bad_bytes_are_found_on_their_line() {
        let mut v = Validator::default();
        v.feed(b"a\nb\n").expect("text");
        assert_eq!(
            v.feed(b"c\n\xE9x"),
            Err(FileError::NotUtf8 {
                line: 4,
                byte: 0xE9
            })
        );
        let mut v = Validator::default();
        v.feed(b"a\n").expect("text");
        assert_eq!(v.feed(b"\n\0"), Err(FileError::Binary { line: 3 }));
    }
}
