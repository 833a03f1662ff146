//! RFC 3339 timestamps written by hand for the decision log's hot path.
//!
//! Every decision the service answers is recorded with its time, so the entry's encoding
//! is paid once per decision. chrono's own serialisation goes through `fmt` machinery and
//! took about a third of an entry's encoding (≈ 300 of ≈ 900 ns, measured with
//! serde_json on this machine). This writes the same text as chrono — the bytes of
//! `serde_json::to_string(&time)` exactly: `SecondsFormat::AutoSi` with `Z` — from
//! digits, and hands anything unusual (a year outside 0000–9999, a leap second) back to
//! chrono, so its output never differs. Reading is left to chrono.

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::Serializer;

/// Longest text written here: `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`.
const TEXT_BYTES_MAX: usize = 30;

/// Serialises `time` as chrono does (for `#[serde(serialize_with)]`).
pub fn serialize<S: Serializer>(time: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    let mut text = [0u8; TEXT_BYTES_MAX];
    match write(time, &mut text) {
        Some(length) => {
            let text = std::str::from_utf8(&text[..length]).expect("written from ASCII digits and separators");
            serializer.serialize_str(text)
        }
        None => serde::Serialize::serialize(time, serializer),
    }
}

/// Writes `time` as a JSON string onto `out`: the bytes [`serialize`] gives through
/// serde_json (for the decision log's hand-written entries).
pub fn write_json(time: &DateTime<Utc>, out: &mut Vec<u8>) {
    let mut text = [0u8; TEXT_BYTES_MAX];
    match write(time, &mut text) {
        Some(length) => {
            out.push(b'"');
            out.extend_from_slice(&text[..length]);
            out.push(b'"');
        }
        None => serde_json::to_writer(out, time).expect("a time serialises"),
    }
}

/// Writes `time` into `text` and returns its length, or `None` where chrono's own
/// formatting is needed (a year outside 0000–9999 or a leap second).
fn write(time: &DateTime<Utc>, text: &mut [u8; TEXT_BYTES_MAX]) -> Option<usize> {
    let naive = time.naive_utc();
    let (year, nanos) = (naive.year(), naive.nanosecond());
    if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
        return None;
    }
    let fields = [
        (0, 4, year as u32),
        (5, 2, naive.month()),
        (8, 2, naive.day()),
        (11, 2, naive.hour()),
        (14, 2, naive.minute()),
        (17, 2, naive.second()),
    ];
    for (at, width, value) in fields {
        digits(&mut text[at..at + width], value);
    }
    for (at, separator) in [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')] {
        text[at] = separator;
    }
    // AutoSi: no fraction for whole seconds, else 3, 6 or 9 digits, the fewest exact.
    let (fraction, width) = match nanos {
        0 => (0, 0),
        n if n % 1_000_000 == 0 => (n / 1_000_000, 3),
        n if n % 1_000 == 0 => (n / 1_000, 6),
        n => (n, 9),
    };
    let mut length = 19;
    if width > 0 {
        text[length] = b'.';
        digits(&mut text[length + 1..length + 1 + width], fraction);
        length += 1 + width;
    }
    text[length] = b'Z';
    Some(length + 1)
}

/// `value` in decimal, zero-padded to the slice's width.
fn digits(out: &mut [u8], mut value: u32) {
    for digit in out.iter_mut().rev() {
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
    debug_assert_eq!(value, 0, "the value fits its width");
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[derive(serde::Serialize)]
    struct Written(#[serde(serialize_with = "serialize")] DateTime<Utc>);

    fn agree(time: DateTime<Utc>) {
        let ours = serde_json::to_string(&Written(time)).unwrap();
        let chrono = serde_json::to_string(&time).unwrap();
        assert_eq!(ours, chrono, "{time:?}");
        let mut written = Vec::new();
        write_json(&time, &mut written);
        assert_eq!(String::from_utf8(written).unwrap(), chrono, "{time:?} as JSON");
    }

    #[test]
    fn writes_the_same_bytes_as_chrono_for_every_fraction_width_and_edge_of_the_calendar() {
        let fractions = [0, 1, 7, 120_000_000, 999_000_000, 5_000, 123_456_000, 999_999_999, 500_000_001];
        let dates = [(0, 1, 1), (1970, 1, 1), (2000, 2, 29), (2026, 12, 1), (9999, 12, 31)];
        for (year, month, day) in dates {
            for (hour, minute, second) in [(0, 0, 0), (9, 5, 7), (23, 59, 59)] {
                let whole = Utc.with_ymd_and_hms(year, month, day, hour, minute, second).unwrap();
                for nanos in fractions {
                    agree(whole + chrono::Duration::nanoseconds(nanos));
                }
            }
        }
        // A spread of instants across the years the service will see.
        let mut at = Utc.with_ymd_and_hms(1990, 1, 1, 0, 0, 0).unwrap();
        for step in 0..10_000i64 {
            agree(at);
            at += chrono::Duration::nanoseconds(step * 7_919_000_001_337);
        }
    }

    #[test]
    fn leaves_years_outside_four_digits_and_leap_seconds_to_chrono() {
        agree(Utc.with_ymd_and_hms(10_000, 1, 1, 0, 0, 0).unwrap());
        agree(Utc.with_ymd_and_hms(-1, 6, 1, 12, 0, 0).unwrap());
        let leap = chrono::NaiveDate::from_ymd_opt(2016, 12, 31).unwrap().and_hms_nano_opt(23, 59, 59, 1_500_000_000);
        agree(leap.unwrap().and_utc());
    }
}
