//! Goal: random task command sequences fold to the same state as a plain `BTreeMap` model, and
//! every query path (fluent chain, filter struct, index-backed planner, full scan, the model's
//! own evaluation) returns the same rows for random filters, orders, cursors and limits.

use std::collections::BTreeMap;

use cortex::tasks::{Task, TaskStatus, TasksAdapter, TasksFilter, TasksState};
use proptest::prelude::*;

#[path = "common/query_model.rs"]
mod query_model;
use query_model::{cursor_at, ordered, page_through, ORDERS};

#[derive(Debug, Clone)]
enum Cmd {
    Create(u64, &'static str, u64),
    Rename(u64, &'static str, u64),
    Complete(u64, u64),
    Reopen(u64, u64),
    Delete(u64, u64),
}

const TITLES: [&str; 4] = ["alpha", "beta", "gamma alpha", ""];

fn cmd() -> impl Strategy<Value = Cmd> {
    let id = 0u64..12;
    let now = 0u64..40;
    let title = prop::sample::select(&TITLES[..]);
    prop_oneof![
        3 => (id.clone(), title.clone(), now.clone()).prop_map(|(i, t, n)| Cmd::Create(i, t, n)),
        1 => (id.clone(), title, now.clone()).prop_map(|(i, t, n)| Cmd::Rename(i, t, n)),
        2 => (id.clone(), now.clone()).prop_map(|(i, n)| Cmd::Complete(i, n)),
        1 => (id.clone(), now.clone()).prop_map(|(i, n)| Cmd::Reopen(i, n)),
        1 => (id, now).prop_map(|(i, n)| Cmd::Delete(i, n)),
    ]
}

/// The model: the documented semantics, written as plainly as possible.
fn apply_model(model: &mut BTreeMap<u64, Task>, cmd: &Cmd) {
    match *cmd {
        Cmd::Create(id, title, now) => {
            model.entry(id).or_insert(Task {
                id,
                title: title.into(),
                status: TaskStatus::Pending,
                created_ns: now,
                updated_ns: now,
            });
        }
        Cmd::Rename(id, title, now) => {
            if let Some(t) = model.get_mut(&id) {
                t.title = title.into();
                t.updated_ns = now;
            }
        }
        Cmd::Complete(id, now) | Cmd::Reopen(id, now) => {
            if let Some(t) = model.get_mut(&id) {
                t.status = if matches!(cmd, Cmd::Complete(..)) {
                    TaskStatus::Completed
                } else {
                    TaskStatus::Pending
                };
                t.updated_ns = now;
            }
        }
        Cmd::Delete(id, _) => {
            model.remove(&id);
        }
    }
}

fn filter() -> impl Strategy<Value = (TasksFilter, Option<(u64, u64, u64)>)> {
    let opt_status =
        prop::option::of(prop_oneof![Just(TaskStatus::Pending), Just(TaskStatus::Completed)]);
    let opt_ids = prop::option::of(prop::collection::vec(0u64..14, 0..5));
    let opt_title = prop::option::of(prop::sample::select(&["alpha", "a", "zzz", ""][..]));
    let opt_t = || prop::option::of(0u64..42);
    let opt_order = prop::option::of(prop::sample::select(&ORDERS[..]));
    let opt_limit = prop::option::of(0usize..6);
    let opt_cursor = prop::option::of((0u64..14, 0u64..42, 0u64..42));
    (
        (opt_status, opt_ids, opt_title),
        (opt_t(), opt_t(), opt_t(), opt_t()),
        (opt_order, opt_limit, opt_cursor),
    )
        .prop_map(|((status, id_in, title), (ca, cb, ua, ub), (order_by, limit, cursor))| {
            let f = TasksFilter {
                status,
                id_in,
                title_contains: title.map(str::to_owned),
                created_after_ns: ca,
                created_before_ns: cb,
                updated_after_ns: ua,
                updated_before_ns: ub,
                order_by,
                limit,
                after: None,
            };
            (f, cursor)
        })
}

/// The model's answer, computed independently of the crate's planner.
fn model_query(model: &BTreeMap<u64, Task>, f: &TasksFilter) -> Vec<Task> {
    let rows: Vec<Task> = model
        .values()
        .filter(|t| f.status.is_none_or(|s| t.status == s))
        .filter(|t| f.id_in.as_ref().is_none_or(|ids| ids.contains(&t.id)))
        .filter(|t| f.title_contains.as_ref().is_none_or(|s| t.title.contains(s.as_str())))
        .filter(|t| f.created_after_ns.is_none_or(|x| t.created_ns > x))
        .filter(|t| f.created_before_ns.is_none_or(|x| t.created_ns < x))
        .filter(|t| f.updated_after_ns.is_none_or(|x| t.updated_ns > x))
        .filter(|t| f.updated_before_ns.is_none_or(|x| t.updated_ns < x))
        .cloned()
        .collect();
    ordered(rows, f.order(), f.after, f.limit)
}

fn fluent(state: &TasksState, f: &TasksFilter) -> Vec<Task> {
    let mut q = state.query();
    if let Some(s) = f.status {
        q = q.where_status(s);
    }
    if let Some(t) = &f.title_contains {
        q = q.title_contains(t.clone());
    }
    query_model::shared_setters!(q, f);
    assert_eq!(q.filter(), f, "the fluent chain builds the same filter");
    q.collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn fold_and_queries_agree_with_model(
        cmds in prop::collection::vec(cmd(), 0..60),
        filters in prop::collection::vec(filter(), 1..12),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let redex = redex::Redex::new();
            let tasks = TasksAdapter::open(&redex, 42).unwrap();
            let mut model = BTreeMap::new();
            let mut last = None;
            for c in &cmds {
                apply_model(&mut model, c);
                last = Some(match *c {
                    Cmd::Create(id, t, n) => tasks.create(id, t, n),
                    Cmd::Rename(id, t, n) => tasks.rename(id, t, n),
                    Cmd::Complete(id, n) => tasks.complete(id, n),
                    Cmd::Reopen(id, n) => tasks.reopen(id, n),
                    Cmd::Delete(id, n) => tasks.delete(id, n),
                }.unwrap());
            }
            if let Some(seq) = last {
                tasks.wait_for_seq(seq).await.unwrap();
            }
            {
                let state = tasks.state().read();
                let folded: Vec<Task> = state.iter().cloned().collect();
                let expected: Vec<Task> = model.values().cloned().collect();
                prop_assert_eq!(&folded, &expected);
                prop_assert_eq!(state.len(), model.len());

                for (mut f, cursor) in filters {
                    f.after = cursor.map(|at| cursor_at(f.order_by.unwrap_or_default(), at));
                    let want = model_query(&model, &f);
                    let indexed = state.find_many(&f);
                    prop_assert_eq!(&indexed, &want, "index-backed find_many, filter {:?}", f);
                    prop_assert_eq!(&state.find_many_scan(&f), &want, "scan, filter {:?}", f);
                    prop_assert_eq!(&fluent(&state, &f), &want, "fluent, filter {:?}", f);
                    prop_assert_eq!(state.count_where(&f), want.len(), "count_where {:?}", f);
                    prop_assert_eq!(state.exists_where(&f), !want.is_empty(), "exists_where {:?}", f);
                    for t in &want {
                        prop_assert_eq!(state.find_unique(t.id).cloned(), Some(t.clone()));
                    }

                    // Paging through the whole result with cursors yields it exactly once.
                    let paged = page_through(f.after, |after| {
                        state.find_page(&TasksFilter { limit: Some(2), after, ..f.clone() })
                    });
                    let all = model_query(&model, &TasksFilter { limit: None, ..f.clone() });
                    prop_assert_eq!(&paged, &all, "paging {:?}", f);
                }
            }
            tasks.close().await.unwrap();
            Ok(())
        })?;
    }
}
