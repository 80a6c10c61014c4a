//! Buffered standard output that ends quietly when its reader goes away, and the entry
//! formats shared by `dump` and `tail`.

use std::io::{BufWriter, Stdout, Write};

use base64::Engine as _;
use redex::RedexEvent;

use crate::error::{stdout_error, CliResult};
use crate::time::format_rfc3339;

/// How `dump` and `tail` print an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The payload bytes exactly as appended, each followed by a newline (`\n`).
    Raw,
    /// One line per entry: seq, RFC 3339 timestamp, length, payload in lowercase hex.
    Hex,
    /// One JSON object per line: `{"seq":..,"timestamp_ns":..,"len":..,"payload_base64":".."}`
    /// (standard base64 with padding).
    Json,
}

/// Buffered stdout.
#[derive(Debug)]
pub struct Out {
    w: BufWriter<Stdout>,
}

impl Default for Out {
    fn default() -> Self {
        Out { w: BufWriter::with_capacity(1 << 16, std::io::stdout()) }
    }
}

impl Out {
    /// Writes `s` and a newline.
    pub fn line(&mut self, s: String) -> CliResult {
        self.w.write_all(s.as_bytes()).map_err(stdout_error)?;
        self.w.write_all(b"\n").map_err(stdout_error)
    }

    /// Writes one entry in `format`.
    pub fn event(&mut self, e: &RedexEvent, format: Format) -> CliResult {
        match format {
            Format::Raw => {
                self.w.write_all(&e.payload).map_err(stdout_error)?;
                self.w.write_all(b"\n").map_err(stdout_error)
            }
            Format::Hex => {
                let mut s =
                    format!("{} {} {} ", e.seq, format_rfc3339(e.timestamp_ns), e.payload.len());
                s.reserve(e.payload.len() * 2);
                for b in e.payload.iter() {
                    s.push(HEX[usize::from(b >> 4)] as char);
                    s.push(HEX[usize::from(b & 0xf)] as char);
                }
                self.line(s)
            }
            Format::Json => self.line(format!(
                "{{\"seq\":{},\"timestamp_ns\":{},\"len\":{},\"payload_base64\":\"{}\"}}",
                e.seq,
                e.timestamp_ns,
                e.payload.len(),
                base64::engine::general_purpose::STANDARD.encode(&e.payload)
            )),
        }
    }

    /// Pushes buffered output to stdout.
    pub fn flush(&mut self) -> CliResult {
        self.w.flush().map_err(stdout_error)
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";
