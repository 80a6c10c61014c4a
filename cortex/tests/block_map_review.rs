//! Goal: the index-backed planner answers like a full scan when the secondary indexes (the
//! `BlockMap`s behind tasks by status, memories by id, tag and pin, and both by
//! `(created_ns, id)`) span many blocks: bulk builds at sizes around the block size, ids and
//! creation times at both ends of `u64`, cursors on and between block edges, limits, time
//! bounds, and indexes changed one event at a time (splits and merges).

#![allow(clippy::unwrap_used, reason = "test helpers fail the test on any error")]

use cortex::memories::{MemoriesAdapter, MemoriesFilter, MemoriesState, Memory};
use cortex::tasks::{Task, TaskStatus, TasksAdapter, TasksFilter, TasksState};
use cortex::{Cursor, OrderBy, Page};

const ORDERS: [OrderBy; 6] = [
    OrderBy::IdAsc,
    OrderBy::IdDesc,
    OrderBy::CreatedAsc,
    OrderBy::CreatedDesc,
    OrderBy::UpdatedAsc,
    OrderBy::UpdatedDesc,
];

/// A cursor in `order` at `(id, created_ns)`, which need not be a row's.
fn cursor(order: OrderBy, id: u64, created_ns: u64) -> Cursor {
    let title = Default::default();
    let at = Task { id, title, status: TaskStatus::Pending, created_ns, updated_ns: created_ns };
    Cursor::of(order, &at)
}

/// The ids of `n` rows: 0, 1, then a run spaced by 3, then `u64::MAX - 1` and `u64::MAX`.
fn ids(n: usize) -> Vec<u64> {
    let mut ids: Vec<u64> = [0, 1].into_iter().take(n).collect();
    ids.extend((0..n.saturating_sub(4) as u64).map(|i| 10 + 3 * i));
    ids.extend([u64::MAX - 1, u64::MAX].into_iter().take(n.saturating_sub(ids.len())));
    ids
}

/// A creation time for the row at `i`: repeated values (many rows per time), and both ends.
fn created(i: usize) -> u64 {
    match i % 11 {
        0 => 0,
        1 => u64::MAX,
        2 => u64::MAX - 1,
        r => (r as u64 % 4) * 1_000 + (i as u64 / 90),
    }
}

/// Ids worth a cursor: every row's around the block edges, gaps, and both ends.
fn cursor_ids(ids: &[u64]) -> Vec<u64> {
    let mut out = vec![0, 1, 2, 5, u64::MAX - 1, u64::MAX];
    for edge in [0usize, 15, 16, 63, 64, 65, 79, 80, 127, 128, 129, 191, 192, 256, 512] {
        if let Some(&id) = ids.get(edge) {
            out.extend([id.saturating_sub(1), id, id.saturating_add(1)]);
        }
    }
    if let Some(&last) = ids.last() {
        out.push(last);
    }
    out
}

/// Creation times worth a bound or a cursor.
const TIMES: [u64; 9] = [0, 1, 999, 1_000, 1_004, 3_000, 3_100, u64::MAX - 1, u64::MAX];

fn tasks_state(n: usize) -> TasksState {
    let rows = ids(n)
        .into_iter()
        .enumerate()
        .map(|(i, id)| Task {
            id,
            title: Default::default(),
            // Both status indexes span several blocks at the larger sizes.
            status: if i % 5 == 0 { TaskStatus::Completed } else { TaskStatus::Pending },
            created_ns: created(i),
            updated_ns: created(i).wrapping_add(i as u64),
        })
        .collect();
    TasksState::from_tasks(rows).unwrap()
}

fn check_tasks(state: &TasksState, f: &TasksFilter) {
    let want = state.find_many_scan(f);
    assert_eq!(state.find_many(f), want, "find_many, filter {f:?}");
    let borrowed: Vec<Task> = state.find_many_ref(f).into_iter().cloned().collect();
    assert_eq!(borrowed, want, "find_many_ref, filter {f:?}");
    assert_eq!(state.count_where(f), want.len(), "count_where, filter {f:?}");
    assert_eq!(state.exists_where(f), !want.is_empty(), "exists_where, filter {f:?}");
}

/// Every row of `f`'s result read page by page (pages of `size`).
fn paged<R>(size: usize, mut page: impl FnMut(Option<Cursor>, usize) -> Page<R>) -> Vec<R> {
    let mut rows = Vec::new();
    let mut after = None;
    loop {
        let p = page(after, size);
        rows.extend(p.items);
        match p.next {
            Some(c) => after = Some(c),
            None => return rows,
        }
    }
}

const SIZES: [usize; 16] = [0, 1, 2, 5, 63, 64, 65, 79, 80, 127, 128, 129, 130, 192, 257, 700];

#[test]
fn tasks_queries_over_bulk_built_indexes_match_a_scan() {
    for n in SIZES {
        let state = tasks_state(n);
        let ids = ids(n);
        let statuses = [None, Some(TaskStatus::Pending), Some(TaskStatus::Completed)];
        for order in ORDERS {
            let mut cursors: Vec<Option<Cursor>> = vec![None];
            for &id in &cursor_ids(&ids) {
                cursors.push(Some(cursor(order, id, 1_000)));
            }
            for (i, &id) in ids.iter().enumerate().step_by(37) {
                cursors.push(Some(cursor(order, id, created(i))));
            }
            for &t in &TIMES {
                cursors.push(Some(cursor(order, 0, t)));
                cursors.push(Some(cursor(order, u64::MAX, t)));
            }
            for &after in &cursors {
                for status in statuses {
                    for limit in [None, Some(0), Some(1), Some(65), Some(n)] {
                        let f = TasksFilter {
                            status,
                            order_by: Some(order),
                            after,
                            limit,
                            ..TasksFilter::default()
                        };
                        check_tasks(&state, &f);
                    }
                }
            }
            for &ca in [None].iter().chain(TIMES.iter().map(Some).collect::<Vec<_>>().iter()) {
                for &cb in [None, Some(&0), Some(&1_000), Some(&3_000), Some(&u64::MAX)].iter() {
                    for &after in cursors.iter().step_by(5) {
                        let f = TasksFilter {
                            created_after_ns: ca.copied(),
                            created_before_ns: cb.copied(),
                            order_by: Some(order),
                            after,
                            limit: Some(70),
                            ..TasksFilter::default()
                        };
                        check_tasks(&state, &f);
                    }
                }
            }
            for status in statuses {
                let all = TasksFilter { status, order_by: Some(order), ..TasksFilter::default() };
                let want = state.find_many_scan(&all);
                for size in [1, 64, 127] {
                    let got = paged(size, |after, size| {
                        state.find_page(&TasksFilter { after, limit: Some(size), ..all.clone() })
                    });
                    assert_eq!(got, want, "paging {n} rows by {size} in {order:?}, {status:?}");
                }
            }
        }
    }
}

fn memories(n: usize) -> Vec<Memory> {
    ids(n)
        .into_iter()
        .enumerate()
        .map(|(i, id)| Memory {
            id,
            content: Default::default(),
            // A tag every row carries, a few shared ones, and one tag per row.
            tags: vec!["all".into(), format!("t{}", i % 3).into(), format!("u{i}").into()],
            source: Default::default(),
            created_ns: created(i),
            updated_ns: created(i).wrapping_add(i as u64),
            pinned: i % 4 != 1,
        })
        .collect()
}

fn check_memories(state: &MemoriesState, f: &MemoriesFilter) {
    let want = state.find_many_scan(f);
    assert_eq!(state.find_many(f), want, "find_many, filter {f:?}");
    let borrowed: Vec<_> = state.find_many_ref(f).into_iter().cloned().collect();
    assert_eq!(borrowed, want, "find_many_ref, filter {f:?}");
    assert_eq!(state.count_where(f), want.len(), "count_where, filter {f:?}");
    assert_eq!(state.exists_where(f), !want.is_empty(), "exists_where, filter {f:?}");
}

/// The filters the memories planner reads from each index: one tag, the rarest of several,
/// the union of several, the pin, the created-time index and the id set.
fn memories_filters() -> Vec<MemoriesFilter> {
    let tag = |t: &str| MemoriesFilter { tag: Some(t.to_owned()), ..MemoriesFilter::default() };
    let tags = |ts: &[&str]| Some(ts.iter().map(|t| (*t).to_owned()).collect::<Vec<_>>());
    vec![
        MemoriesFilter::default(),
        tag("all"),
        tag("t1"),
        tag("u0"),
        tag("u64"),
        tag("missing"),
        MemoriesFilter { tag: Some("t2".into()), pinned: Some(true), ..MemoriesFilter::default() },
        MemoriesFilter { all_tags: tags(&["all", "t0"]), ..MemoriesFilter::default() },
        MemoriesFilter { all_tags: tags(&["t0", "missing"]), ..MemoriesFilter::default() },
        MemoriesFilter { any_tags: tags(&["t0", "t1", "u5"]), ..MemoriesFilter::default() },
        MemoriesFilter { pinned: Some(true), ..MemoriesFilter::default() },
        MemoriesFilter { pinned: Some(false), ..MemoriesFilter::default() },
        MemoriesFilter { created_after_ns: Some(1_000), ..MemoriesFilter::default() },
        MemoriesFilter { created_before_ns: Some(u64::MAX), ..MemoriesFilter::default() },
        MemoriesFilter {
            created_after_ns: Some(0),
            created_before_ns: Some(3_000),
            ..MemoriesFilter::default()
        },
    ]
}

#[test]
fn memories_queries_over_bulk_built_indexes_match_a_scan() {
    for n in SIZES {
        let state = MemoriesState::from_memories(memories(n)).unwrap();
        let ids = ids(n);
        for base in memories_filters() {
            for order in ORDERS {
                let mut cursors: Vec<Option<Cursor>> = vec![None];
                for &id in &cursor_ids(&ids) {
                    cursors.push(Some(cursor(order, id, 1_000)));
                }
                for &t in &TIMES {
                    cursors.push(Some(cursor(order, 7, t)));
                }
                for &after in &cursors {
                    for limit in [None, Some(1), Some(65)] {
                        let f =
                            MemoriesFilter { order_by: Some(order), after, limit, ..base.clone() };
                        check_memories(&state, &f);
                    }
                }
                let all = MemoriesFilter { order_by: Some(order), ..base.clone() };
                let want = state.find_many_scan(&all);
                let got = paged(64, |after, size| {
                    state.find_page(&MemoriesFilter { after, limit: Some(size), ..all.clone() })
                });
                assert_eq!(got, want, "paging {n} rows in {order:?}, {base:?}");
            }
        }
    }
}

/// Queries after every phase of a fold that grows, drains and regrows the indexes one event
/// at a time: appends, completions from the front (the oldest first), reopens from the back,
/// deletes in the middle.
#[test]
fn tasks_indexes_changed_event_by_event_match_a_scan() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let redex = redex::Redex::new();
        let tasks = TasksAdapter::open(&redex, 7).unwrap();
        let n = 600u64;
        let batch: Vec<(u64, &str, u64)> = (0..n).map(|i| (i * 2, "t", i / 7)).collect();
        let mut last = tasks.create_batch(&batch).unwrap();
        let check = |state: &TasksState| {
            for order in ORDERS {
                for status in [None, Some(TaskStatus::Pending), Some(TaskStatus::Completed)] {
                    for after in [None, Some(cursor(order, 257, 36)), Some(cursor(order, 900, 60))]
                    {
                        for limit in [None, Some(3), Some(130)] {
                            let f = TasksFilter {
                                status,
                                order_by: Some(order),
                                after,
                                limit,
                                ..TasksFilter::default()
                            };
                            check_tasks(state, &f);
                        }
                    }
                }
            }
        };
        let phases: [&dyn Fn(u64) -> Option<u64>; 4] = [
            &|i| (i < 560).then(|| tasks.complete(i * 2, 1_000 + i).unwrap()),
            &|i| (i >= 40).then(|| tasks.reopen((n - 1 - i) * 2, 2_000 + i).unwrap()),
            &|i| {
                (i % 3 == 0 && (100..500).contains(&i)).then(|| tasks.delete(i * 2, 3_000).unwrap())
            },
            &|i| (i % 2 == 0).then(|| tasks.create(i * 2 + 1, "u", 50).unwrap()),
        ];
        for phase in phases {
            for i in 0..n {
                if let Some(seq) = phase(i) {
                    last = Some(seq);
                }
            }
            tasks.wait_for_seq(last.unwrap()).await.unwrap();
            check(&tasks.state().read());
        }
        tasks.close().await.unwrap();
    });
}

/// The same for memories: stores, retags (a tag per memory, then a shared one), pins and
/// unpins, deletes.
#[test]
fn memories_indexes_changed_event_by_event_match_a_scan() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let redex = redex::Redex::new();
        let memories = MemoriesAdapter::open(&redex, 9).unwrap();
        let n = 400u64;
        let mut last = 0;
        for i in 0..n {
            let own = format!("u{i}");
            last = memories.store(i * 3, "c", &["all", &own], "s", i / 5).unwrap();
        }
        let check = |state: &MemoriesState| {
            for base in memories_filters() {
                for order in ORDERS {
                    for after in [None, Some(cursor(order, 385, 20)), Some(cursor(order, 3, 0))] {
                        for limit in [None, Some(2), Some(130)] {
                            let f = MemoriesFilter {
                                order_by: Some(order),
                                after,
                                limit,
                                ..base.clone()
                            };
                            check_memories(state, &f);
                        }
                    }
                }
            }
        };
        memories.wait_for_seq(last).await.unwrap();
        check(&memories.state().read());
        let phases: [&dyn Fn(u64) -> Option<u64>; 4] = [
            &|i| (i % 4 != 3).then(|| memories.pin(i * 3, 100 + i).unwrap()),
            &|i| (i < 300).then(|| memories.retag(i * 3, &["all", "t1"], 200 + i).unwrap()),
            &|i| (i < 350).then(|| memories.unpin(i * 3, 300).unwrap()),
            &|i| (i % 5 != 0).then(|| memories.delete(i * 3, 400).unwrap()),
        ];
        for phase in phases {
            for i in 0..n {
                if let Some(seq) = phase(i) {
                    last = seq;
                }
            }
            memories.wait_for_seq(last).await.unwrap();
            check(&memories.state().read());
        }
        memories.close().await.unwrap();
    });
}
