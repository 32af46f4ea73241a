//! The durable intake on NATS JetStream: fire-and-forget starts are stored in a stream before
//! they are answered (`publish`), and every replica pulls them from one durable consumer, as
//! much as its admission has room for, acking each after its execution is logged (`pull`).
//!
//! Invariant: a message is acknowledged only once its execution's terminal log event is
//! written and flushed; until then JetStream keeps it and delivers it again after the ack wait,
//! so an accepted execution outlives any replica. From the last delivery on, a delivery runs
//! nothing: it ends the execution with a logged `ExecutionFailed` saying why, so no message is
//! run forever; JetStream itself never gives up on one (that would drop it unrecorded).

mod publish;
mod pull;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull::Config as ConsumerConfig, stream};

pub use publish::PublishError;
pub use pull::Observer;

/// Where the intake is and how it is named, with its defaults in one place.
#[derive(Debug, Clone)]
pub struct Config {
    /// The NATS server, `nats://HOST:PORT`.
    pub url: String,
    /// The JetStream stream that stores the requests (created when missing).
    pub stream: String,
    /// Executions of state machine `M` are messages on `<subject_prefix>.M`; the stream
    /// captures `<subject_prefix>.>`.
    pub subject_prefix: String,
    /// The durable pull consumer every replica shares (created when missing).
    pub consumer: String,
    /// How long a delivered message may go without an ack (or a progress signal) before
    /// JetStream delivers it again.
    pub ack_wait: Duration,
    /// How many deliveries of a message may run its execution, plus one: the delivery with
    /// this number (and any after it, when that one could not be recorded) ends the execution
    /// as failed instead of running it. At least 2.
    pub max_deliveries: u32,
    /// When set, each execution's end is also published to this subject as one JSON object.
    pub results_subject: Option<String>,
}

impl Config {
    /// The defaults, for the server at `url`.
    pub fn new(url: &str) -> Config {
        Config {
            url: url.to_owned(),
            stream: "STATEJET_EXECUTIONS".into(),
            subject_prefix: "statejet.executions".into(),
            consumer: "statejet".into(),
            ack_wait: Duration::from_secs(30),
            max_deliveries: 5,
            results_subject: None,
        }
    }

    /// The subject executions of `machine` are published to.
    pub fn subject(&self, machine: &str) -> String {
        format!("{}.{machine}", self.subject_prefix)
    }
}

/// Why the intake could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the intake's URL '{0}' is not nats://HOST:PORT")]
    Url(String),
    #[error("cannot reach NATS at {url}: {detail}")]
    Connect { url: String, detail: String },
    #[error("JetStream at {url}: cannot find or create the stream '{stream}' (is the server started with -js?): {detail}")]
    Stream {
        url: String,
        stream: String,
        detail: String,
    },
    #[error("JetStream at {url}: cannot find or create the consumer '{consumer}' of stream '{stream}': {detail}")]
    Consumer {
        url: String,
        stream: String,
        consumer: String,
        detail: String,
    },
    #[error("--intake-max-deliveries must be at least 2 (the last delivery only records the failure), not {0}")]
    MaxDeliveries(u32),
}

/// Why a pulled message started no execution (each is counted in `/metrics` by this reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejected {
    /// No replica that received it knows the state machine its subject names.
    UnknownStateMachine,
    /// Its body is not JSON.
    InvalidInput,
    /// Its execution name (`Nats-Msg-Id` or `Statejet-Execution-Name`) is not one AWS allows.
    InvalidName,
    /// Its state machine is STANDARD: those start directly (`StartExecution`), retained here.
    StandardStateMachine,
}

impl Rejected {
    pub const ALL: [Rejected; 4] = [
        Rejected::UnknownStateMachine,
        Rejected::InvalidInput,
        Rejected::InvalidName,
        Rejected::StandardStateMachine,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Rejected::UnknownStateMachine => "unknown_state_machine",
            Rejected::InvalidInput => "invalid_input",
            Rejected::InvalidName => "invalid_name",
            Rejected::StandardStateMachine => "standard_state_machine",
        }
    }
}

/// The intake's counters, for `/metrics`.
#[derive(Debug, Default)]
struct Counters {
    stored: AtomicU64,
    store_failures: AtomicU64,
    delivered: AtomicU64,
    redelivered: AtomicU64,
    acked: AtomicU64,
    exhausted: AtomicU64,
    rejected: [AtomicU64; 4],
}

/// A copy of the intake's counters.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// `StartExecution` requests JetStream confirmed storing.
    pub stored: u64,
    /// `StartExecution` requests refused because JetStream did not confirm them.
    pub store_failures: u64,
    /// Messages received from the consumer (every delivery).
    pub delivered: u64,
    /// Of those, deliveries after the first.
    pub redelivered: u64,
    /// Messages acknowledged after their execution's end was logged.
    pub acked: u64,
    /// Executions ended as failed at their last delivery.
    pub exhausted: u64,
    /// Messages that started no execution, by reason (in `Rejected::ALL`'s order).
    pub rejected: [u64; 4],
    /// Whether the client is connected now.
    pub connected: bool,
}

/// The intake: a NATS client, its stream and consumer. Cheap to clone; clones share.
#[derive(Clone)]
pub struct Intake {
    shared: Arc<Shared>,
}

struct Shared {
    config: Config,
    client: async_nats::Client,
    jetstream: jetstream::Context,
    consumer: jetstream::consumer::PullConsumer,
    counters: Counters,
    connected: Arc<AtomicBool>,
    /// Each message's task holds a clone; `close` drops this one and waits for the rest.
    tasks: Mutex<Option<tokio::sync::mpsc::Sender<()>>>,
    tasks_done: tokio::sync::Mutex<tokio::sync::mpsc::Receiver<()>>,
}

impl Intake {
    /// Connects to the server (failing at once when it cannot be reached: a replica that could
    /// not store starts must not come up), and finds or creates the stream and the consumer.
    pub async fn connect(config: Config) -> Result<Intake, Error> {
        if config.max_deliveries < 2 {
            return Err(Error::MaxDeliveries(config.max_deliveries));
        }
        let address = config
            .url
            .strip_prefix("nats://")
            .filter(|a| !a.is_empty() && !a.contains('/'))
            .ok_or_else(|| Error::Url(config.url.clone()))?;
        let connected = Arc::new(AtomicBool::new(false));
        let (flag, url) = (connected.clone(), config.url.clone());
        let client = async_nats::ConnectOptions::new()
            .name("statejet")
            .connection_timeout(Duration::from_secs(5))
            // Reconnecting goes on for as long as the process lives; starts fail meanwhile.
            .max_reconnects(None)
            .event_callback(move |event| {
                let (flag, url) = (flag.clone(), url.clone());
                async move {
                    match event {
                        async_nats::Event::Connected => {
                            flag.store(true, Ordering::SeqCst);
                            eprintln!("statejet serve: intake: connected to {url}");
                        }
                        async_nats::Event::Disconnected => {
                            flag.store(false, Ordering::SeqCst);
                            eprintln!("statejet serve: intake: lost {url}; starts fail until it is back, reconnecting");
                        }
                        other => eprintln!("statejet serve: intake: {url}: {other}"),
                    }
                }
            })
            .connect(address)
            .await
            .map_err(|e| Error::Connect {
                url: config.url.clone(),
                detail: e.to_string(),
            })?;
        connected.store(true, Ordering::SeqCst);
        let js = jetstream::new(client.clone());
        let stream = js
            .get_or_create_stream(stream::Config {
                name: config.stream.clone(),
                subjects: vec![format!("{}.>", config.subject_prefix)],
                storage: stream::StorageType::File,
                // Work-queue retention: a message is gone once acked, so the stream holds what is
                // accepted and not yet done, and one consumer takes each message once.
                retention: stream::RetentionPolicy::WorkQueue,
                ..Default::default()
            })
            .await
            .map_err(|e| Error::Stream {
                url: config.url.clone(),
                stream: config.stream.clone(),
                detail: e.to_string(),
            })?;
        let consumer = stream
            .get_or_create_consumer(
                &config.consumer,
                ConsumerConfig {
                    durable_name: Some(config.consumer.clone()),
                    ack_policy: jetstream::consumer::AckPolicy::Explicit,
                    ack_wait: config.ack_wait,
                    // Unlimited: the replicas give up (`max_deliveries`), by logging the end.
                    // JetStream's own limit would drop a message whose last delivery went
                    // unacknowledged (its replica killed, its log unwritable, a Nak while
                    // shutting down): accepted, and never ended anywhere.
                    max_deliver: -1,
                    // Admission bounds each replica; the server's default (1,000 across all
                    // replicas) would cap executions in flight, Waits included.
                    max_ack_pending: -1,
                    filter_subject: format!("{}.>", config.subject_prefix),
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| Error::Consumer {
                url: config.url.clone(),
                stream: config.stream.clone(),
                consumer: config.consumer.clone(),
                detail: e.to_string(),
            })?;
        // An existing consumer is used as it is (one made by an earlier statejet had a limit).
        let limit = consumer.cached_info().config.max_deliver;
        if limit > 0 {
            eprintln!(
                "statejet serve: intake: consumer '{}' of stream '{}' has max_deliver {limit}: JetStream drops a message whose delivery {limit} goes unacknowledged, and its execution never ends; make it unlimited (nats consumer edit {} {} --max-deliver=-1)",
                config.consumer, config.stream, config.stream, config.consumer
            );
        }
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        Ok(Intake {
            shared: Arc::new(Shared {
                config,
                client,
                jetstream: js,
                consumer,
                counters: Counters::default(),
                connected,
                tasks: Mutex::new(Some(tx)),
                tasks_done: tokio::sync::Mutex::new(rx),
            }),
        })
    }

    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    /// A copy of the counters.
    pub fn stats(&self) -> Stats {
        let c = &self.shared.counters;
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Stats {
            stored: load(&c.stored),
            store_failures: load(&c.store_failures),
            delivered: load(&c.delivered),
            redelivered: load(&c.redelivered),
            acked: load(&c.acked),
            exhausted: load(&c.exhausted),
            rejected: std::array::from_fn(|i| load(&c.rejected[i])),
            connected: self.shared.connected.load(Ordering::SeqCst),
        }
    }

    /// After the engine's shutdown: waits (at most `limit`) for every pulled message's last
    /// word to JetStream (ack, or a request to deliver it again), then flushes them out.
    pub async fn close(&self, limit: Duration) {
        let closing = async {
            drop(
                self.shared
                    .tasks
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .take(),
            );
            let mut done = self.shared.tasks_done.lock().await;
            while done.recv().await.is_some() {}
            let _ = self.shared.client.flush().await;
        };
        let _ = tokio::time::timeout(limit, closing).await;
    }
}
