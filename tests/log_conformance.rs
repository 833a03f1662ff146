//! One conformance suite for every `EventLog` implementation: what the projector and
//! the write path rely on. Each implementation provides a [`Harness`] that opens the
//! same log again as a restarted process would; the Kafka log joins this file with a
//! harness of its own.

use std::sync::Arc;

#[path = "common/kafka.rs"]
mod kafka;

use ledger::log::embedded::EmbeddedLog;
use ledger::log::{EventLog, LogError, NewRecord, APPEND_RECORDS_MAX, LOG_RECORD_BYTES_MAX};

/// Opens a log, and the same log again after the previous handle is dropped.
trait Harness {
    fn open(&self) -> Arc<dyn EventLog>;
}

fn bytes(i: u64) -> Vec<u8> {
    format!("{{\"record\":{i}}}").into_bytes()
}

fn record(i: u64) -> NewRecord {
    NewRecord { key: format!("k{}", i % 3), id: format!("id-{i}"), kind: "test".to_owned(), bytes: bytes(i) }
}

mod suite {
    use super::*;

    pub fn empty_log_has_nothing(h: &dyn Harness) {
        let log = h.open();
        assert_eq!(log.head().unwrap(), 0);
        assert!(log.read(0, 10).unwrap().is_empty());
        assert!(log.read(5, 10).unwrap().is_empty());
    }

    pub fn appends_are_read_back_in_order_from_any_position(h: &dyn Harness) {
        let log = h.open();
        assert_eq!(log.append(&[record(0), record(1), record(2)]).unwrap(), vec![0, 1, 2]);
        assert_eq!(log.append(&[record(3)]).unwrap(), vec![3]);
        assert_eq!(log.head().unwrap(), 4);
        let all = log.read(0, 100).unwrap();
        assert_eq!(all.iter().map(|r| r.index).collect::<Vec<_>>(), vec![0, 1, 2, 3]);
        assert_eq!(all.iter().map(|r| r.bytes.clone()).collect::<Vec<_>>(), (0..4).map(bytes).collect::<Vec<_>>());
        let middle = log.read(1, 2).unwrap();
        assert_eq!(middle.iter().map(|r| r.index).collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(middle[1].bytes, bytes(2));
        assert!(log.read(4, 10).unwrap().is_empty(), "nothing past the head");
    }

    pub fn acknowledged_records_survive_a_restart(h: &dyn Harness) {
        {
            let log = h.open();
            log.append(&[record(0), record(1)]).unwrap();
        }
        let log = h.open();
        assert_eq!(log.head().unwrap(), 2);
        assert_eq!(log.read(0, 10).unwrap()[1].bytes, bytes(1));
        assert_eq!(log.append(&[record(2)]).unwrap(), vec![2], "appends continue after the restart");
    }

    pub fn refused_appends_write_nothing(h: &dyn Harness) {
        let log = h.open();
        log.append(&[record(0)]).unwrap();
        let too_big = NewRecord { bytes: vec![b'x'; LOG_RECORD_BYTES_MAX + 1], ..record(1) };
        assert!(matches!(log.append(&[record(1), too_big]), Err(LogError::Refused(_))));
        assert!(matches!(log.append(&[NewRecord { bytes: Vec::new(), ..record(1) }]), Err(LogError::Refused(_))));
        let too_many: Vec<NewRecord> = (0..=APPEND_RECORDS_MAX as u64).map(record).collect();
        assert!(matches!(log.append(&too_many), Err(LogError::Refused(_))));
        assert_eq!(log.head().unwrap(), 1);
    }

    pub fn concurrent_appends_are_all_kept_whole(h: &dyn Harness) {
        let log = h.open();
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                let log = log.clone();
                std::thread::spawn(move || {
                    for i in 0..25u64 {
                        let n = t * 1000 + i;
                        log.append(&[record(n), record(n + 500)]).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let all = log.read(0, 1000).unwrap();
        assert_eq!(all.len(), 200);
        // The two records of one append stay adjacent: appends are not interleaved.
        for pair in all.chunks(2) {
            let a: serde_json::Value = serde_json::from_slice(&pair[0].bytes).unwrap();
            let b: serde_json::Value = serde_json::from_slice(&pair[1].bytes).unwrap();
            assert_eq!(a["record"].as_u64().unwrap() + 500, b["record"].as_u64().unwrap());
        }
    }
}

macro_rules! conformance {
    ($harness:expr) => {
        #[test]
        fn empty_log_has_nothing() {
            suite::empty_log_has_nothing(&$harness);
        }
        #[test]
        fn appends_are_read_back_in_order_from_any_position() {
            suite::appends_are_read_back_in_order_from_any_position(&$harness);
        }
        #[test]
        fn acknowledged_records_survive_a_restart() {
            suite::acknowledged_records_survive_a_restart(&$harness);
        }
        #[test]
        fn refused_appends_write_nothing() {
            suite::refused_appends_write_nothing(&$harness);
        }
        #[test]
        fn concurrent_appends_are_all_kept_whole() {
            suite::concurrent_appends_are_all_kept_whole(&$harness);
        }
    };
}

struct Embedded {
    dir: tempfile::TempDir,
}

impl Harness for Embedded {
    fn open(&self) -> Arc<dyn EventLog> {
        Arc::new(EmbeddedLog::open(&self.dir.path().join("events.log"), 0).expect("open embedded log"))
    }
}

fn embedded() -> Embedded {
    Embedded { dir: tempfile::tempdir().unwrap() }
}

mod embedded_log {
    use super::*;
    conformance!(embedded());

    fn log_file(h: &Embedded) -> std::path::PathBuf {
        h.dir.path().join("events.log")
    }

    #[test]
    fn a_torn_final_append_is_cut_off_when_the_writer_opens() {
        let h = embedded();
        h.open().append(&[record(0), record(1)]).unwrap();
        let intact = std::fs::metadata(log_file(&h)).unwrap().len();
        h.open().append(&[record(2), record(3)]).unwrap();
        // A crash in the middle of an unacknowledged append leaves part of it.
        let file = std::fs::OpenOptions::new().write(true).open(log_file(&h)).unwrap();
        file.set_len(std::fs::metadata(log_file(&h)).unwrap().len() - 3).unwrap();
        let log = h.open();
        assert_eq!(log.head().unwrap(), 2, "the whole unfinished append goes, not just its last frame");
        assert_eq!(std::fs::metadata(log_file(&h)).unwrap().len(), intact);
        assert_eq!(log.append(&[record(2)]).unwrap(), vec![2]);
    }

    #[test]
    fn damage_to_acknowledged_records_refuses_to_open() {
        let h = embedded();
        h.open().append(&[record(0), record(1), record(2)]).unwrap();
        let mut bytes = std::fs::read(log_file(&h)).unwrap();
        // Flip one byte inside the first record's body (after the magic and its
        // 24-byte frame header): data after it is acknowledged.
        bytes[8 + 24 + 3] ^= 0x01;
        std::fs::write(log_file(&h), &bytes).unwrap();
        match EmbeddedLog::open(&log_file(&h), 0) {
            Err(LogError::Damaged(d)) => assert_eq!((d.index, d.offset), (0, 8)),
            Err(other) => panic!("expected Damaged, got {other}"),
            Ok(_) => panic!("a damaged log must not open"),
        }
        assert_eq!(std::fs::read(log_file(&h)).unwrap(), bytes, "refusing changed nothing");
    }

    #[test]
    fn a_second_process_cannot_open_the_same_log() {
        let h = embedded();
        let _first = h.open();
        assert!(matches!(EmbeddedLog::open(&log_file(&h), 0), Err(LogError::Refused(_))));
    }
}

mod kafka_log {
    use super::*;
    use ledger::log::kafka::KafkaLog;

    use super::kafka;

    struct Kafka {
        topic: String,
    }

    impl Harness for Kafka {
        fn open(&self) -> Arc<dyn EventLog> {
            Arc::new(KafkaLog::open(&kafka::config(&self.topic)).expect("open the Kafka log"))
        }
    }

    fn kafka_topic() -> Kafka {
        Kafka { topic: kafka::new_topic() }
    }

    conformance!(kafka_topic());

    /// Given two processes appending to one topic at once (two replicas), when each reads
    /// back what the broker just acknowledged to it, then the head is past that record
    /// and the record reads back: a writer never waits for its own acknowledged event.
    #[test]
    fn each_writer_reads_back_its_acknowledged_records_while_another_appends() {
        let topic = kafka_topic();
        let writers: Vec<_> = (0..2u64)
            .map(|w| {
                let log = topic.open();
                std::thread::spawn(move || {
                    for i in 0..50u64 {
                        let n = w * 1000 + i;
                        let index = log.append(&[record(n)]).unwrap()[0];
                        assert!(log.head().unwrap() > index, "writer {w}: head below acknowledged {index}");
                        let back = log.read(index, 1).unwrap();
                        assert_eq!(back.len(), 1, "writer {w}: record {index} does not read back");
                        assert_eq!(back[0].bytes, bytes(n));
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        let log = topic.open();
        assert_eq!(log.read(0, 1000).unwrap().len(), 100);
    }
}
