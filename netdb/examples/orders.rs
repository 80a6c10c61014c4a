//! An order-tracking service on NetDB: every change to an order is an event in a durable
//! RedEX log, a custom fold turns the events into an order book, queries and a watch read the
//! book, and a whole-database snapshot makes the restart fold only the events that followed
//! it.
//!
//! Run: `cargo run -p netdb --example orders`. It works in a fresh temporary directory and
//! ends with one `orders:` line that `netdb/tests/example_orders.rs` checks.
//!
//! The flow:
//! 1. open a persistent NetDB (fsync every 64 appends) with the `orders` model;
//! 2. place, confirm, ship, deliver and cancel orders while a watch follows the number of
//!    delivered orders;
//! 3. query the book (orders per status, delivered revenue, one customer's orders);
//! 4. snapshot the database to a file, write more events (the log tail), close;
//! 5. restart: restore from the snapshot file, fold only the tail, and check the book against
//!    a full replay of the log.

use std::collections::BTreeMap;
use std::error::Error;
use std::path::Path;

use cortex::{CortexAdapter, FoldError, FoldEvent, RedexFold};
use futures::StreamExt;
use netdb::{NetDb, NetDbBuilder, NetDbSnapshot};
use redex::{FsyncPolicy, Redex};
use serde::{Deserialize, Serialize};

/// The model's name, and the channel its log lives on.
pub const ORDERS: &str = "orders";
/// Dispatch byte of every order event (the body says which one it is).
const ORDER_EVENT: u8 = 0x41;
/// Who writes the events.
const ORIGIN: u64 = 0x0bde_0001;

/// A line of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineItem {
    /// Stock keeping unit.
    pub sku: String,
    /// How many.
    pub qty: u32,
}

/// What can happen to an order. Events are facts: the fold decides what they mean.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrderEvent {
    /// A customer placed an order.
    Placed { order_id: u64, customer: String, items: Vec<LineItem>, total_cents: u64 },
    /// The shop accepted it.
    Confirmed { order_id: u64 },
    /// It left the warehouse.
    Shipped { order_id: u64, carrier: String, tracking: String },
    /// It arrived.
    Delivered { order_id: u64 },
    /// It was called off.
    Cancelled { order_id: u64, reason: String },
}

/// Where an order is in its life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrderStatus {
    /// Placed, not yet confirmed.
    Placed,
    /// Confirmed, not yet shipped.
    Confirmed,
    /// On its way.
    Shipped { carrier: String, tracking: String },
    /// Arrived.
    Delivered,
    /// Called off.
    Cancelled { reason: String },
}

/// One order as the fold sees it, with its history (status name, writer's time).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// Who ordered.
    pub customer: String,
    /// What.
    pub items: Vec<LineItem>,
    /// For how much.
    pub total_cents: u64,
    /// Where it is now.
    pub status: OrderStatus,
    /// Every status it went through, with the time the event was written.
    pub history: Vec<(String, u64)>,
}

/// The folded state: every order by id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderBook {
    /// Orders by id.
    pub orders: BTreeMap<u64, Order>,
}

impl OrderBook {
    /// Orders whose status satisfies `pred`.
    pub fn count(&self, pred: impl Fn(&OrderStatus) -> bool) -> usize {
        self.orders.values().filter(|o| pred(&o.status)).count()
    }

    /// Revenue of delivered orders.
    pub fn delivered_revenue_cents(&self) -> u64 {
        self.orders
            .values()
            .filter(|o| o.status == OrderStatus::Delivered)
            .map(|o| o.total_cents)
            .sum()
    }
}

/// The fold: pure (only the state and the event), and defensive: an event about an unknown
/// order, or one that does not fit the order's status, changes nothing.
#[derive(Debug)]
pub struct OrderFold;

impl RedexFold<OrderBook> for OrderFold {
    fn apply(&self, book: &mut OrderBook, event: &FoldEvent) -> Result<(), FoldError> {
        if event.meta.dispatch != ORDER_EVENT {
            return Err(FoldError::unknown_dispatch(event.meta.dispatch));
        }
        let parsed: OrderEvent = match postcard::take_from_bytes(&event.payload) {
            Ok((e, [])) => e,
            Ok((_, rest)) => {
                return Err(FoldError::invalid_payload(format!("{} trailing bytes", rest.len())))
            }
            Err(e) => return Err(FoldError::invalid_payload(e)),
        };
        let at = event.meta.seq_or_ts;
        let (order_id, status, label) = match parsed {
            OrderEvent::Placed { order_id, customer, items, total_cents } => {
                book.orders.entry(order_id).or_insert_with(|| Order {
                    customer,
                    items,
                    total_cents,
                    status: OrderStatus::Placed,
                    history: vec![("placed".into(), at)],
                });
                return Ok(());
            }
            OrderEvent::Confirmed { order_id } => (order_id, OrderStatus::Confirmed, "confirmed"),
            OrderEvent::Shipped { order_id, carrier, tracking } => {
                (order_id, OrderStatus::Shipped { carrier, tracking }, "shipped")
            }
            OrderEvent::Delivered { order_id } => (order_id, OrderStatus::Delivered, "delivered"),
            OrderEvent::Cancelled { order_id, reason } => {
                (order_id, OrderStatus::Cancelled { reason }, "cancelled")
            }
        };
        let Some(order) = book.orders.get_mut(&order_id) else { return Ok(()) };
        let fits = matches!(
            (&order.status, &status),
            (OrderStatus::Placed, OrderStatus::Confirmed)
                | (OrderStatus::Confirmed, OrderStatus::Shipped { .. })
                | (OrderStatus::Shipped { .. }, OrderStatus::Delivered)
                | (OrderStatus::Placed | OrderStatus::Confirmed, OrderStatus::Cancelled { .. })
        );
        if fits {
            order.status = status;
            order.history.push((label.into(), at));
        }
        Ok(())
    }
}

/// The write side of the service: commands become events.
#[derive(Debug)]
struct Orders<'a> {
    adapter: &'a CortexAdapter<OrderBook>,
}

impl Orders<'_> {
    fn write(&self, event: &OrderEvent, now_ns: u64) -> Result<u64, Box<dyn Error>> {
        let body = postcard::to_allocvec(event)?;
        Ok(self.adapter.append(ORDER_EVENT, now_ns, &body)?)
    }
}

/// The database: one custom model, persistent, fsynced every 64 appends.
fn builder(redex: &Redex) -> NetDbBuilder {
    NetDb::builder(redex)
        .origin(ORIGIN)
        .persistent(true)
        .fsync_policy(FsyncPolicy::EveryN(64))
        .with_custom(ORDERS, OrderFold)
}

/// Writes the life of orders `ids` at logical times from `clock` (a deterministic clock, so
/// every run writes the same events). Returns the last seq.
fn write_orders(
    orders: &Orders<'_>,
    ids: std::ops::Range<u64>,
    clock: &mut u64,
) -> Result<u64, Box<dyn Error>> {
    let mut last = 0;
    let mut tick = || {
        *clock += 1_000;
        *clock
    };
    for id in ids.clone() {
        let items = vec![LineItem { sku: format!("SKU-{}", id % 17), qty: 1 + (id % 3) as u32 }];
        let placed = OrderEvent::Placed {
            order_id: id,
            customer: format!("customer-{}@example.com", id % 40),
            items,
            total_cents: 1_000 + (id % 50) * 99,
        };
        last = orders.write(&placed, tick())?;
    }
    // Most orders move on; every tenth is cancelled before it ships.
    for id in ids {
        if id % 10 == 3 {
            let reason = "customer changed their mind".to_string();
            last = orders.write(&OrderEvent::Cancelled { order_id: id, reason }, tick())?;
            continue;
        }
        last = orders.write(&OrderEvent::Confirmed { order_id: id }, tick())?;
        if id % 4 == 0 {
            continue;
        }
        let shipped = OrderEvent::Shipped {
            order_id: id,
            carrier: ["ups", "dhl", "post"][(id % 3) as usize].into(),
            tracking: format!("TRK{id:08}"),
        };
        last = orders.write(&shipped, tick())?;
        if id % 4 != 1 {
            last = orders.write(&OrderEvent::Delivered { order_id: id }, tick())?;
        }
    }
    Ok(last)
}

/// How many of orders `ids` [`write_orders`] delivers.
fn delivered_among(ids: std::ops::Range<u64>) -> usize {
    ids.filter(|id| id % 10 != 3 && id % 4 >= 2).count()
}

/// Runs the whole service in `dir` and returns its final line.
pub async fn run(dir: &Path) -> Result<String, Box<dyn Error>> {
    let snapshot_path = dir.join("orders.netdb");
    let mut clock = 1_700_000_000_000_000_000u64;

    // 1-4: write, watch, query, snapshot, write the tail, close.
    let expected = {
        let redex = Redex::with_persistent_dir(dir.join("redex"))?;
        let db = builder(&redex).build()?;
        let adapter = db.custom::<OrderBook>(ORDERS)?;
        let orders = Orders { adapter };

        // A watch on the number of delivered orders: an emission now, then one per change,
        // latest wins if we fall behind; the last one always reflects the final state.
        let mut delivered =
            adapter.changes(|b: &OrderBook| b.count(|s| *s == OrderStatus::Delivered));
        let target = delivered_among(0..300);
        let watcher = tokio::spawn(async move {
            let mut seen = 0;
            while let Some(n) = delivered.next().await {
                seen = n;
                if n == target {
                    break;
                }
            }
            seen
        });

        let last = write_orders(&orders, 0..300, &mut clock)?;
        adapter.wait_for_seq(last).await?;
        let seen = watcher.await?;
        {
            let book = adapter.state().read();
            let customer = "customer-7@example.com";
            let theirs: Vec<u64> = book
                .orders
                .iter()
                .filter(|(_, o)| o.customer == customer)
                .map(|(id, _)| *id)
                .collect();
            println!(
                "after {} events: {} orders, {} in transit, {} delivered (watch saw {seen}), \
                 ${:.2} delivered revenue; {customer} has orders {theirs:?}",
                last + 1,
                book.orders.len(),
                book.count(|s| matches!(s, OrderStatus::Shipped { .. })),
                book.count(|s| *s == OrderStatus::Delivered),
                book.delivered_revenue_cents() as f64 / 100.0,
            );
        }

        let bundle = db.snapshot()?;
        std::fs::write(&snapshot_path, bundle.encode())?;
        println!(
            "snapshot: {} bytes, orders folded up to seq {:?}",
            std::fs::metadata(&snapshot_path)?.len(),
            bundle.model(ORDERS).and_then(|m| m.last_seq)
        );

        // The tail: events after the snapshot, which the restart folds.
        let last = write_orders(&orders, 300..400, &mut clock)?;
        adapter.wait_for_seq(last).await?;
        let expected = adapter.state().read().clone();
        db.close().await?;
        expected
    };

    // 5: restart from the snapshot plus the log tail.
    let redex = Redex::with_persistent_dir(dir.join("redex"))?;
    let bundle = NetDbSnapshot::decode(&std::fs::read(&snapshot_path)?)?;
    let from_seq = bundle.model(ORDERS).and_then(|m| m.last_seq).map_or(0, |s| s + 1);
    let db = builder(&redex).build_from_snapshot(&bundle)?;
    let adapter = db.custom::<OrderBook>(ORDERS)?;
    let next_seq = adapter.file().next_seq();
    if let Some(last) = next_seq.checked_sub(1) {
        adapter.wait_for_seq(last).await?;
    }
    let restored = adapter.state().read().clone();
    db.close().await?;

    // The same log folded from its first event, for comparison.
    let db = builder(&redex).build()?;
    let adapter = db.custom::<OrderBook>(ORDERS)?;
    if let Some(last) = next_seq.checked_sub(1) {
        adapter.wait_for_seq(last).await?;
    }
    let replayed = adapter.state().read().clone();
    db.close().await?;

    let matches = restored == expected && replayed == expected;
    Ok(format!(
        "orders: {} total, {} delivered, {} cancelled; restart folded {} tail events after the \
         snapshot; state matches full replay: {}",
        restored.orders.len(),
        restored.count(|s| *s == OrderStatus::Delivered),
        restored.count(|s| matches!(s, OrderStatus::Cancelled { .. })),
        next_seq - from_seq,
        if matches { "yes" } else { "NO" },
    ))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn Error>> {
    let dir = tempfile::tempdir()?;
    println!("working in {}", dir.path().display());
    let line = run(dir.path()).await?;
    println!("{line}");
    Ok(())
}
