//! The Kafka event log: the one module that knows rdkafka.
//!
//! One topic with one partition holds the whole ledger in total order. Every replica
//! reads it by explicit assignment from the position stored in its own read model —
//! never through consumer-group offsets, which would split partitions between replicas
//! and move independently of the state they describe. Appends use an idempotent
//! producer with `acks=all`; an append returns only when the broker has acknowledged
//! every record. Offsets are positions: a topic without transactions or compaction
//! numbers its records 0, 1, 2… with no gaps, and a gap is reported as corruption.
//!
//! At open the topic is checked (or created with `create_topic`): one partition,
//! `cleanup.policy=delete`, `retention.ms=-1`, `retention.bytes=-1` and
//! `message.timestamp.type=LogAppendTime`. Kafka's default seven-day retention would
//! silently delete the ledger, so an unsafe topic is refused with the reason, never used.
//! With `LogAppendTime` the broker stamps every record as it appends it, so the record
//! timestamp a replica reads ([`Record::appended_ms`]) is one no producer chose and every
//! replica sees alike: the bound `apply` puts on an event's own time. (tansu 0.6, the
//! broker the tests run, stores that setting but does not apply it: there the stamp is
//! the producer's clock.)

use futures_executor::block_on;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use super::{check_append, EventLog, LogError, NewRecord, Record};

/// How long an append waits for the broker's acknowledgement before it fails (and the
/// write answers 503). Nothing is acknowledged to the caller before this.
pub const DELIVERY_TIMEOUT_MS: u64 = 8_000;
/// How long metadata, watermark and admin calls wait for the broker.
pub const BROKER_CALL_TIMEOUT_MS: u64 = 3_000;
/// How long one `read` polls before it asks whether it is at the head.
pub const READ_POLL_MS: u64 = 25;
/// How long a `read` below the head waits for the broker to deliver a record.
pub const READ_FETCH_TIMEOUT_MS: u64 = 10_000;
const PARTITION: i32 = 0;
/// `retention.ms` of a topic that keeps every record.
pub const RETENTION_FOREVER: i64 = -1;

/// Where the ledger lives on Kafka.
#[derive(Clone, Debug)]
pub struct KafkaConfig {
    pub brokers: String,
    pub topic: String,
    /// Create the topic (safely configured) when it does not exist.
    pub create_topic: bool,
    /// Replication factor for a topic this process creates.
    pub replication_factor: i32,
}

pub struct KafkaLog {
    topic: String,
    /// The producer, replaced when it can no longer write (see [`KafkaLog::renew_if_spent`]).
    producer: RwLock<FutureProducer>,
    /// What a replacement producer is made from.
    producer_config: ClientConfig,
    /// Held while one append enqueues its records, so that the records of one append
    /// leave this process back to back (other processes may still interleave).
    enqueue: Mutex<()>,
    consumer: Mutex<Reader>,
    /// One past the highest offset this process knows to exist: acknowledged to its
    /// producer or delivered to its consumer. The head never goes below it (see `head`).
    known_head: AtomicU64,
    /// The topic's retention: with [`RETENTION_FOREVER`], a first offset above 0 means
    /// records were lost; otherwise it is the broker doing as it was told.
    retention_ms: i64,
}

struct Reader {
    consumer: BaseConsumer,
    /// The offset the consumer will deliver next, if it is positioned.
    next: Option<u64>,
}

fn unavailable(e: KafkaError) -> LogError {
    LogError::Unavailable(e.to_string())
}

fn timeout(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

impl KafkaLog {
    /// Connects, checks (or creates) the topic, and refuses an unsafe one.
    pub fn open(config: &KafkaConfig) -> Result<KafkaLog, LogError> {
        KafkaLog::open_with_retention(config, RETENTION_FOREVER)
    }

    /// As [`KafkaLog::open`], for a topic whose records expire after `retention_ms`
    /// (the decision log's own setting; the ledger's topic keeps everything). The topic
    /// must carry exactly that retention: one that differs is refused, not used.
    pub fn open_with_retention(config: &KafkaConfig, retention_ms: i64) -> Result<KafkaLog, LogError> {
        let mut common = ClientConfig::new();
        common
            .set("bootstrap.servers", &config.brokers)
            .set("socket.timeout.ms", "5000")
            .set("reconnect.backoff.max.ms", "2000")
            .set("log_level", "4");
        check_topic(&common, config, retention_ms)?;

        let mut producer_config = common.clone();
        producer_config
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("max.in.flight.requests.per.connection", "5")
            .set("linger.ms", "0")
            // One record per batch. Positions must be exact: some Kafka-protocol brokers
            // (tansu 0.6) report the high watermark and serve fetches by the base offset
            // of a batch, which would hide the later records of a multi-record batch.
            .set("batch.num.messages", "1")
            .set("message.timeout.ms", DELIVERY_TIMEOUT_MS.to_string())
            .set("request.timeout.ms", "4000");
        let producer: FutureProducer = producer_config.create().map_err(unavailable)?;
        let consumer: BaseConsumer = common
            .clone()
            // Required by librdkafka for a consumer; never used to commit anything.
            .set("group.id", format!("ledger-replica-{}", uuid::Uuid::now_v7()))
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("enable.partition.eof", "false")
            .set("fetch.wait.max.ms", "20")
            .set("isolation.level", "read_uncommitted")
            .create()
            .map_err(unavailable)?;
        Ok(KafkaLog {
            topic: config.topic.clone(),
            producer: RwLock::new(producer),
            producer_config,
            enqueue: Mutex::new(()),
            consumer: Mutex::new(Reader { consumer, next: None }),
            known_head: AtomicU64::new(0),
            retention_ms,
        })
    }

    /// An idempotent producer can be spent for good: it failed fatally (librdkafka marks
    /// it so), or the broker fences its producer id and epoch (`PRODUCER_FENCED`,
    /// `INVALID_PRODUCER_EPOCH` on a produce — seen in CI from tansu on every append
    /// for a minute after an outage; likely an epoch bump cut in flight, so the broker
    /// holds a newer epoch than the producer learnt). librdkafka does not treat a
    /// fenced *produce* of a non-transactional producer as fatal, so every later append
    /// would fail the same way for the life of the process. Once an append has failed
    /// (its callers are told so), a fresh producer with a fresh id takes its place for
    /// the appends after it, so the service recovers by itself.
    fn renew_if_spent(&self, failed: &FutureProducer, error: &KafkaError) {
        let why = match (failed.client().fatal_error(), error.rdkafka_error_code()) {
            (Some((code, why)), _) => format!("failed fatally ({code:?}: {why})"),
            (None, Some(code @ (RDKafkaErrorCode::ProducerFenced | RDKafkaErrorCode::InvalidProducerEpoch))) => {
                format!("was fenced by the broker ({code:?})")
            }
            (None, _) => return,
        };
        let mut current = self.producer.write().unwrap_or_else(|p| p.into_inner());
        // Another append may have renewed it already.
        if !std::ptr::eq(current.client().native_ptr(), failed.client().native_ptr()) {
            return;
        }
        match self.producer_config.create::<FutureProducer>() {
            Ok(fresh) => {
                tracing::warn!("the Kafka producer {why}; a new one takes its place");
                *current = fresh;
            }
            Err(e) => tracing::error!("the Kafka producer {why} and a new one failed: {e}"),
        }
    }

    /// The offset of the oldest record the broker still keeps (0 until retention
    /// deletes something).
    pub fn first(&self) -> Result<u64, LogError> {
        let producer = self.producer.read().unwrap_or_else(|p| p.into_inner()).clone();
        let (low, _) = producer
            .client()
            .fetch_watermarks(&self.topic, PARTITION, timeout(BROKER_CALL_TIMEOUT_MS))
            .map_err(unavailable)?;
        Ok(low.max(0) as u64)
    }

    pub fn identity(config: &KafkaConfig) -> String {
        format!("kafka:{}", config.topic)
    }
}

/// Checks the topic's partitions and retention, creating it first if asked to.
fn check_topic(common: &ClientConfig, config: &KafkaConfig, retention_ms: i64) -> Result<(), LogError> {
    let admin: AdminClient<DefaultClientContext> = common.create().map_err(unavailable)?;
    let opts = AdminOptions::new().request_timeout(Some(timeout(BROKER_CALL_TIMEOUT_MS)));
    let topic = config.topic.as_str();
    let metadata = admin
        .inner()
        .fetch_metadata(Some(topic), timeout(BROKER_CALL_TIMEOUT_MS))
        .map_err(|e| LogError::Unavailable(format!("cannot reach the brokers at {}: {e}", config.brokers)))?;
    let exists =
        metadata.topics().iter().any(|t| t.name() == topic && t.error().is_none() && !t.partitions().is_empty());
    if !exists {
        if !config.create_topic {
            return Err(LogError::Refused(format!(
                "topic '{topic}' does not exist; pass --create-topic to create it with one partition, \
                 cleanup.policy=delete, retention.ms={retention_ms} and message.timestamp.type=LogAppendTime"
            )));
        }
        let retention = retention_ms.to_string();
        let new = NewTopic::new(topic, 1, TopicReplication::Fixed(config.replication_factor))
            .set("cleanup.policy", "delete")
            .set("retention.ms", &retention)
            .set("retention.bytes", "-1")
            .set("message.timestamp.type", "LogAppendTime");
        let results = block_on(admin.create_topics([&new], &opts)).map_err(unavailable)?;
        for result in results {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((name, code)) => return Err(LogError::Refused(format!("cannot create topic '{name}': {code}"))),
            }
        }
        tracing::info!(topic, "created the ledger topic");
    }

    // Partitions: a ledger needs one total order.
    let deadline = Instant::now() + timeout(BROKER_CALL_TIMEOUT_MS * 3);
    let partitions = loop {
        let md = admin.inner().fetch_metadata(Some(topic), timeout(BROKER_CALL_TIMEOUT_MS)).map_err(unavailable)?;
        let count = md.topics().iter().find(|t| t.name() == topic).map(|t| t.partitions().len()).unwrap_or(0);
        if count > 0 || Instant::now() > deadline {
            break count;
        }
        std::thread::sleep(timeout(100));
    };
    if partitions != 1 {
        return Err(LogError::Refused(format!(
            "topic '{topic}' has {partitions} partitions; the ledger needs exactly one: every replica must apply \
             every event in the same total order, or replicas would disagree about which of two racing commands won"
        )));
    }

    // Retention: the ledger is kept forever.
    let described = block_on(admin.describe_configs([&ResourceSpecifier::Topic(topic)], &opts)).map_err(unavailable)?;
    let resource = match described.into_iter().next() {
        Some(Ok(resource)) => resource,
        Some(Err(code)) => {
            return Err(LogError::Refused(format!("cannot read the configuration of '{topic}': {code}")))
        }
        None => return Err(LogError::Refused(format!("the brokers returned no configuration for '{topic}'"))),
    };
    let value = |name: &str| resource.get(name).and_then(|e| e.value.clone());
    let mut problems = Vec::new();
    match value("cleanup.policy").as_deref() {
        Some("delete") => {}
        other => problems.push(format!(
            "cleanup.policy is {} (must be 'delete': compaction would drop events that share a key)",
            other.unwrap_or("unset")
        )),
    }
    match value("retention.ms") {
        Some(found) if found == retention_ms.to_string() => {}
        other if retention_ms == RETENTION_FOREVER => problems.push(format!(
            "retention.ms is {} (must be -1: with Kafka's default of 7 days the ledger's history would be deleted)",
            other.as_deref().unwrap_or("unset")
        )),
        other => problems.push(format!(
            "retention.ms is {} (must be {retention_ms}, the retention this service was started with: records would \
             be kept for another time than the one stated)",
            other.as_deref().unwrap_or("unset")
        )),
    }
    match value("message.timestamp.type").as_deref() {
        Some("LogAppendTime") => {}
        other => problems.push(format!(
            "message.timestamp.type is {} (must be LogAppendTime: the broker's append time bounds each event's \
             own time, so no writer's clock can move the ledger's time)",
            other.unwrap_or("unset")
        )),
    }
    if let Some(bytes) = value("retention.bytes") {
        if bytes != "-1" {
            problems.push(format!("retention.bytes is {bytes} (must be -1: a size limit would delete history)"));
        }
    }
    if !problems.is_empty() {
        return Err(LogError::Refused(format!("topic '{topic}' is unsafe for a ledger: {}", problems.join("; "))));
    }
    Ok(())
}

/// Points `consumer` at `offset` of the ledger's partition.
fn assign(consumer: &BaseConsumer, topic: &str, offset: u64) -> Result<(), LogError> {
    let mut assignment = TopicPartitionList::new();
    assignment.add_partition_offset(topic, PARTITION, Offset::Offset(offset as i64)).map_err(unavailable)?;
    consumer.assign(&assignment).map_err(unavailable)
}

impl KafkaLog {
    /// One append through `producer`: its records enqueued back to back under
    /// `enqueued`, then every delivery awaited.
    fn append_with(
        &self,
        producer: &FutureProducer,
        records: &[NewRecord],
        enqueued: std::sync::MutexGuard<'_, ()>,
    ) -> Result<Vec<u64>, KafkaError> {
        let mut deliveries = Vec::with_capacity(records.len());
        for r in records {
            let headers = OwnedHeaders::new()
                .insert(Header { key: "ce_id", value: Some(r.id.as_bytes()) })
                .insert(Header { key: "ce_type", value: Some(r.kind.as_bytes()) })
                .insert(Header { key: "ce_specversion", value: Some("1.0".as_bytes()) })
                .insert(Header { key: "content-type", value: Some("application/cloudevents+json".as_bytes()) });
            let record =
                FutureRecord::to(&self.topic).partition(PARTITION).key(&r.key).payload(&r.bytes).headers(headers);
            let delivery = producer.send_result(record).map_err(|(e, _)| e)?;
            deliveries.push(delivery);
        }
        drop(enqueued);
        let mut indexes = Vec::with_capacity(deliveries.len());
        for delivery in deliveries {
            match block_on(delivery) {
                Ok(Ok(d)) => indexes.push(d.offset as u64),
                Ok(Err((e, _))) => return Err(e),
                Err(_) => return Err(KafkaError::Canceled),
            }
        }
        debug_assert!(indexes.windows(2).all(|w| w[0] < w[1]), "one partition keeps appends in order");
        if let Some(last) = indexes.last() {
            self.known_head.fetch_max(last + 1, Ordering::Relaxed);
        }
        Ok(indexes)
    }
}

impl EventLog for KafkaLog {
    fn append(&self, records: &[NewRecord]) -> Result<Vec<u64>, LogError> {
        check_append(records)?;
        let enqueued = self.enqueue.lock().unwrap_or_else(|p| p.into_inner());
        let producer = self.producer.read().unwrap_or_else(|p| p.into_inner()).clone();
        self.append_with(&producer, records, enqueued).map_err(|e| {
            self.renew_if_spent(&producer, &e);
            unavailable(e)
        })
    }

    fn read(&self, from: u64, max: usize) -> Result<Vec<Record>, LogError> {
        let mut guard = self.consumer.lock().unwrap_or_else(|p| p.into_inner());
        let Reader { consumer, next } = &mut *guard;
        if *next != Some(from) {
            *next = None;
            assign(consumer, &self.topic, from)?;
            *next = Some(from);
        }
        let mut out = Vec::new();
        let started = Instant::now();
        let mut below_head = false;
        while out.len() < max {
            // Wait for the first record; then take only what is already fetched.
            let wait = if out.is_empty() { timeout(READ_POLL_MS) } else { Duration::ZERO };
            let Some(result) = consumer.poll(wait) else {
                if !out.is_empty() {
                    break;
                }
                if !below_head {
                    let head = self.head()?;
                    if from >= head {
                        break;
                    }
                    below_head = true;
                }
                if started.elapsed() > timeout(READ_FETCH_TIMEOUT_MS) {
                    *next = None;
                    return Err(LogError::Unavailable(format!(
                        "no record arrived from offset {from} within {READ_FETCH_TIMEOUT_MS} ms"
                    )));
                }
                continue;
            };
            let message = match result {
                Ok(m) => m,
                Err(e) => {
                    *next = None;
                    return Err(unavailable(e));
                }
            };
            let expected = from + out.len() as u64;
            if (message.offset() as u64) < expected {
                // Fetched before a re-assignment moved the position; not ours to deliver.
                continue;
            }
            if message.offset() as u64 != expected {
                // A topic fit for a ledger has no gaps, but tansu 0.6 can serve a batch
                // before an earlier one it has already numbered is stored. Deliver what
                // precedes the gap and read again from it; a gap that lasts is corruption.
                *next = None;
                if !out.is_empty() {
                    break;
                }
                if started.elapsed() > timeout(READ_FETCH_TIMEOUT_MS) {
                    return Err(LogError::Corrupt {
                        index: expected,
                        why: format!("the topic skipped from offset {expected} to {}", message.offset()),
                    });
                }
                std::thread::sleep(timeout(READ_POLL_MS));
                assign(consumer, &self.topic, from)?;
                *next = Some(from);
                continue;
            }
            let bytes = message.payload().unwrap_or_default().to_vec();
            // The topic is checked for LogAppendTime at open, so this is the broker's stamp.
            let appended_ms = message.timestamp().to_millis();
            out.push(Record { index: expected, bytes, appended_ms });
        }
        if next.is_some() {
            *next = Some(from + out.len() as u64);
        }
        self.known_head.fetch_max(from + out.len() as u64, Ordering::Relaxed);
        Ok(out)
    }

    fn head(&self) -> Result<u64, LogError> {
        let producer = self.producer.read().unwrap_or_else(|p| p.into_inner()).clone();
        let (low, high) = producer
            .client()
            .fetch_watermarks(&self.topic, PARTITION, timeout(BROKER_CALL_TIMEOUT_MS))
            .map_err(unavailable)?;
        if low > 0 && self.retention_ms == RETENTION_FOREVER {
            return Err(LogError::Corrupt {
                index: 0,
                why: format!("the topic's first offset is {low}: records were deleted (check its retention)"),
            });
        }
        // An acknowledged or delivered offset is below the head on any Kafka broker, so
        // the head is at least `known_head`. Taking the larger one guards against
        // brokers whose answer can go backwards: tansu 0.6 answers "latest" with the
        // most recently *stored* batch, and two producers' batches may be stored out of
        // order, which would leave a writer waiting for its own acknowledged record.
        Ok((high.max(0) as u64).max(self.known_head.load(Ordering::Relaxed)))
    }
}

impl Drop for KafkaLog {
    fn drop(&mut self) {
        let producer = self.producer.read().unwrap_or_else(|p| p.into_inner()).clone();
        let _ = producer.flush(timeout(BROKER_CALL_TIMEOUT_MS));
    }
}
